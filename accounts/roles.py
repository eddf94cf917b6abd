"""Role groups and their capabilities. Called from data migrations with the historical app registry."""
from __future__ import annotations

from billing_ops.access import ROLE_CAPABILITIES


def sync_role_groups(apps) -> None:
    """Create the role groups and grant exactly their capabilities (idempotent)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="billing", model="capability")
    from billing_ops.access import CAPABILITY_DESCRIPTIONS

    permissions = {}
    for capability, description in CAPABILITY_DESCRIPTIONS.items():
        codename = capability.split(".", 1)[1]
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": description}
        )
        permissions[capability] = permission
    for role, capabilities in ROLE_CAPABILITIES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([permissions[c] for c in sorted(capabilities)])
