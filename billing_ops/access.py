"""Who may do what: the one permission check that every screen, API view and task uses.

Each view declares ``capabilities = {"GET": READ, "POST": WRITE}`` (method → capability).
``CapabilityRequiredMixin`` (screens) and ``HasCapability`` (API) enforce it; a view that
declares nothing is refused to everyone, and the access-matrix test fails on it.
Capabilities are Django permissions ``billing.<codename>`` held through role groups.
"""
from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from rest_framework.permissions import BasePermission

from billing_ops.actors import SystemActor
from billing_ops.errors import PermissionDenied

# Capabilities (Django permissions on the `billing` app label).
READ = "billing.read"
WRITE = "billing.write"
APPROVE = "billing.approve"
MANAGE_SUBSCRIPTION = "billing.manage_subscription"
CONFIGURE_PAYMENTS = "billing.configure_payments"
VIEW_AUDIT = "billing.view_audit"
ALL_TENANTS = "billing.all_tenants"  # without it, only tenants assigned by object permission
INGEST_USAGE = "billing.ingest_usage"  # machine clients posting usage events (issue 8)
PUBLIC = "public"  # no login (login page, Paystack webhook: its signature authenticates)

CAPABILITY_DESCRIPTIONS = {
    READ: "See every billing screen and GET API",
    WRITE: "Create, edit, send, record, remind, suspend, run",
    APPROVE: "Approve credit notes and refunds",
    MANAGE_SUBSCRIPTION: "Manage a tenant's subscription (preview and apply changes)",
    CONFIGURE_PAYMENTS: "Configure Paystack keys and mode",
    VIEW_AUDIT: "See the audit log",
    ALL_TENANTS: "See every tenant (not only assigned ones)",
    INGEST_USAGE: "Send usage events (machine clients)",
}

SUPER_ADMIN, BILLING, ONBOARDING = "super_admin", "billing", "onboarding"
ROLES = (SUPER_ADMIN, BILLING, ONBOARDING)
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    SUPER_ADMIN: frozenset(CAPABILITY_DESCRIPTIONS),
    BILLING: frozenset({READ, WRITE, APPROVE, MANAGE_SUBSCRIPTION, ALL_TENANTS}),
    ONBOARDING: frozenset({READ, MANAGE_SUBSCRIPTION}),
}
# Object permission (django-guardian) that assigns a tenant to an onboarding user.
TENANT_ASSIGNMENT_PERM = "accounts.onboard_tenant"


def has_capability(user, capability: str) -> bool:
    if capability == PUBLIC:
        return True
    if isinstance(user, SystemActor):
        return True
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.has_perm(capability)


def require_capability(actor, capability: str) -> None:
    """For services and tasks: raise PermissionDenied unless ``actor`` holds ``capability``."""
    if not has_capability(actor, capability):
        raise PermissionDenied("You do not have permission to do this.")


def role_of(user) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    names = {group.name for group in user.groups.all()}
    for role in ROLES:
        if role in names:
            return role
    return SUPER_ADMIN if user.is_superuser else None


def capability_for(view, method: str) -> str | None:
    declared = getattr(view, "capabilities", None)
    if not declared:
        return None
    method = method.upper()
    if method in ("HEAD", "OPTIONS"):
        method = "GET"
    return declared.get(method) or declared.get("*")


class CapabilityRequiredMixin:
    """Screens: anonymous → login redirect; missing capability → 403; nothing runs."""

    capabilities: dict[str, str] = {}

    def dispatch(self, request, *args, **kwargs):
        capability = capability_for(self, request.method)
        if capability != PUBLIC and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if capability is None or not has_capability(request.user, capability):
            raise DjangoPermissionDenied
        return super().dispatch(request, *args, **kwargs)


class HasCapability(BasePermission):
    """API: anonymous → 401, missing capability (or none declared) → 403."""

    def has_permission(self, request, view) -> bool:
        capability = capability_for(view, request.method)
        if capability == PUBLIC:
            return True
        if capability is None:
            return False
        granted = has_capability(request.user, capability)
        if granted and request.method in ("POST", "PUT", "PATCH"):
            require_object_body(request, view)
        return granted


def require_object_body(request, view) -> None:
    """A write's body is parsed before the view acts, so malformed JSON or a JSON body that is not an
    object is a 400 even for actions that read no body (send, approve, remind…), instead of being
    ignored (or crashing a view that calls ``request.data.get``). A view that takes a top-level list
    says so with ``accepts_json_list = True``."""
    from rest_framework.exceptions import ParseError

    data = request.data  # raises ParseError (400 "malformed") for a body that does not parse
    if isinstance(data, dict):
        return
    if isinstance(data, list) and getattr(view, "accepts_json_list", False):
        return
    raise ParseError("The request body must be a JSON object.")


def visible_tenants(user):
    """Tenants ``user`` may see: all, or (onboarding) those assigned by object permission."""
    from guardian.shortcuts import get_objects_for_user

    from accounts.models import Tenant

    if isinstance(user, SystemActor) or has_capability(user, ALL_TENANTS):
        return Tenant.objects.all()
    if not has_capability(user, READ):
        return Tenant.objects.none()
    return get_objects_for_user(
        user, TENANT_ASSIGNMENT_PERM, klass=Tenant, accept_global_perms=False, with_superuser=False
    )


def scope_to_user(queryset, user, *, tenant_field: str = "tenant"):
    """Restrict a queryset of tenant-owned rows to the tenants ``user`` may see."""
    if isinstance(user, SystemActor) or has_capability(user, ALL_TENANTS):
        return queryset
    return queryset.filter(**{f"{tenant_field}__in": visible_tenants(user).values("pk")})

# Not a staff role: the group that usage-ingestion clients (API tokens) belong to. It may post
# usage events for any tenant and nothing else (see subscriptions.usage, create_usage_client).
USAGE_CLIENT_GROUP = "usage_client"
USAGE_CLIENT_CAPABILITIES = frozenset({INGEST_USAGE, ALL_TENANTS})
