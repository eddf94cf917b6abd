"""Navigation filtered by the signed-in user's capabilities."""
from __future__ import annotations

from billing_ops.access import has_capability, role_of
from billing_ops.navigation import NAVIGATION


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_role": None}
    items = [item for item in NAVIGATION if has_capability(user, item.capability) and item.available()]
    # Items appended later by an app (e.g. "Dunning policy") join their section instead of opening a second
    # heading of the same name at the bottom: sections keep the order of their first item, items their own.
    first_seen = {}
    for item in items:
        first_seen.setdefault(item.section, len(first_seen))
    items.sort(key=lambda item: first_seen[item.section])
    return {"nav_items": items, "user_role": role_of(user)}
