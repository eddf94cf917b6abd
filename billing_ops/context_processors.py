"""Navigation filtered by the signed-in user's capabilities."""
from __future__ import annotations

from billing_ops.access import has_capability, role_of
from billing_ops.navigation import NAVIGATION


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_role": None}
    items = [item for item in NAVIGATION if has_capability(user, item.capability) and item.available()]
    return {"nav_items": items, "user_role": role_of(user)}
