"""Reads for tenants and the audit log, scoped to what the user may see."""
from __future__ import annotations

from django.shortcuts import get_object_or_404

from accounts.models import AuditEntry, Tenant
from billing_ops.access import visible_tenants


def tenant_list(*, user):
    return visible_tenants(user)


def tenant_get(*, user, pk) -> Tenant:
    """The tenant, or 404 when it does not exist or is not visible to ``user``."""
    return get_object_or_404(visible_tenants(user), pk=pk)


def tenant_audit_trail(*, tenant: Tenant, limit: int = 50):
    return list(AuditEntry.objects.filter(tenant_id=tenant.pk).order_by("-created_at", "-id")[:limit])


def object_history(*, obj, limit: int = 50):
    return list(
        AuditEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("-created_at", "-id")[:limit]
    )


def audit_entry_list():
    return AuditEntry.objects.all()


def onboarding_staff():
    from django.contrib.auth import get_user_model

    from billing_ops.access import ONBOARDING

    return get_user_model().objects.filter(groups__name=ONBOARDING, is_active=True).order_by("username")


def tenant_onboarding_staff(*, tenant: Tenant) -> list:
    from guardian.shortcuts import get_users_with_perms

    users = get_users_with_perms(tenant, only_with_perms_in=["onboard_tenant"], with_superusers=False, with_group_users=False)
    return sorted(users, key=lambda u: u.username)
