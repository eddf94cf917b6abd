"""Writes for staff, tenants and account credit. Each function is one transaction with an audit entry."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from accounts import audit
from accounts.models import TENANT_TRANSITIONS, CreditLedgerEntry, Tenant, TenantStatus
from billing_ops import events
from billing_ops.access import ROLES, TENANT_ASSIGNMENT_PERM, WRITE, require_capability
from billing_ops.actors import actor_user
from billing_ops.errors import ValidationFailed
from billing_ops.money import CURRENCY_EXPONENTS, has_valid_places, quantize, to_decimal
from billing_ops.state import check_transition

TENANT_FIELDS = [
    "name", "legal_name", "tax_id", "tax_id_type", "billing_email", "address", "country",
    "currency", "payment_terms_days", "deployment_webhook_url",
]


# --- Staff ------------------------------------------------------------------------------------

def staff_user_create(*, username: str, email: str, role: str, password: str, actor=None):
    """Create an active staff user holding exactly one role."""
    if role not in ROLES:
        raise ValidationFailed(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", fields={"role": ["unknown role"]})
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(f"A user named {username!r} already exists.", code="duplicate", fields={"username": ["taken"]})
    user = User(username=username, email=email, is_staff=False, is_active=True)
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), fields={"password": exc.messages}) from None
    with transaction.atomic():
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        audit.record(actor=actor, action="staff.created", obj=user, after={"username": username, "email": email, "role": role})
    return user


def tenant_assign_onboarding(*, tenant: Tenant, user, actor, assigned: bool = True) -> None:
    """Give (or take back) an onboarding user's access to one tenant."""
    require_capability(actor, WRITE)
    with transaction.atomic():
        if assigned:
            assign_perm(TENANT_ASSIGNMENT_PERM, user, tenant)
        else:
            remove_perm(TENANT_ASSIGNMENT_PERM, user, tenant)
        audit.record(
            actor=actor,
            action="tenant.onboarding_assigned" if assigned else "tenant.onboarding_unassigned",
            obj=tenant,
            after={"user": user.username},
        )


# --- Tenants ----------------------------------------------------------------------------------

def _clean_tenant_fields(data: dict) -> dict:
    errors = {}
    if "currency" in data and data["currency"] not in CURRENCY_EXPONENTS:
        errors["currency"] = [f"Choose one of {', '.join(CURRENCY_EXPONENTS)}."]
    if "country" in data:
        country = (data["country"] or "").strip().upper()
        if len(country) != 2 or not country.isalpha():
            errors["country"] = ["Use a two-letter ISO country code, e.g. NG."]
        data["country"] = country
    if "name" in data and not (data["name"] or "").strip():
        errors["name"] = ["A name is required."]
    if errors:
        raise ValidationFailed("The tenant details are not valid.", fields=errors)
    return data


def tenant_create(*, actor, name: str, billing_email: str, currency: str, country: str, **extra) -> Tenant:
    """Create a tenant (active, no credit)."""
    require_capability(actor, WRITE)
    data = _clean_tenant_fields({"name": name, "billing_email": billing_email, "currency": currency, "country": country, **extra})
    unknown = set(data) - set(TENANT_FIELDS) - {"deployment_webhook_secret"}
    if unknown:
        raise ValidationFailed(f"Unknown tenant fields: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        tenant = Tenant.objects.create(**data)
        audit.record(actor=actor, action="tenant.created", obj=tenant, after=audit.snapshot(tenant, TENANT_FIELDS))
        events.emit("tenant.created", actor=actor, tenant_id=tenant.pk)
    return tenant


def tenant_update(*, actor, tenant: Tenant, **changes) -> Tenant:
    """Edit a tenant's details. Status and credit have their own services."""
    require_capability(actor, WRITE)
    unknown = set(changes) - set(TENANT_FIELDS) - {"deployment_webhook_secret"}
    if unknown:
        raise ValidationFailed(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    changes = _clean_tenant_fields(dict(changes))
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if "currency" in changes and changes["currency"] != tenant.currency and tenant.credit_balance != 0:
            raise ValidationFailed("The currency cannot change while the tenant holds account credit.", fields={"currency": ["has credit"]})
        fields = [f for f in changes if f != "deployment_webhook_secret"]
        before = audit.snapshot(tenant, fields)
        for key, value in changes.items():
            setattr(tenant, key, value)
        tenant.save()
        after = audit.snapshot(tenant, fields)
        if "deployment_webhook_secret" in changes:
            before["deployment_webhook_secret"], after["deployment_webhook_secret"] = "(unchanged)", "(changed)"
        audit.record(actor=actor, action="tenant.updated", obj=tenant, before=before, after=after)
    return tenant


def tenant_set_status(*, actor, tenant: Tenant, status: str, reason: str) -> Tenant:
    """Move a tenant between active / suspended / closed, checked against TENANT_TRANSITIONS.

    Callers with a business reason (dunning suspension, reactivation on payment) call this;
    it emits ``tenant.suspended`` / ``tenant.reactivated`` / ``tenant.closed``.
    """
    require_capability(actor, WRITE)
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required.", fields={"reason": ["required"]})
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        check_transition(table=TENANT_TRANSITIONS, current=tenant.status, target=status, label="tenant")
        before = audit.snapshot(tenant, ["status", "suspended_at", "suspension_reason"])
        previous = tenant.status
        tenant.status = status
        if status == TenantStatus.SUSPENDED:
            tenant.suspended_at, tenant.suspension_reason = timezone.now(), reason
        elif status == TenantStatus.ACTIVE:
            tenant.suspended_at, tenant.suspension_reason = None, ""
        tenant.save(update_fields=["status", "suspended_at", "suspension_reason", "updated_at"])
        audit.record(actor=actor, action=f"tenant.{status}", obj=tenant, before=before,
                     after=audit.snapshot(tenant, ["status", "suspended_at", "suspension_reason"]), reason=reason)
        name = {"suspended": "tenant.suspended", "active": "tenant.reactivated", "closed": "tenant.closed"}[status]
        events.emit(name, actor=actor, tenant_id=tenant.pk, previous_status=previous, reason=reason)
    return tenant


def tenant_credit_adjust(
    *, actor, tenant: Tenant, amount, reason: str, source_type: str = "", source_id: str = ""
) -> CreditLedgerEntry:
    """Add (positive) or draw (negative) account credit; the balance never goes below zero.

    Joins the caller's transaction when there is one, so drawing credit for an invoice
    commits or rolls back with the invoice.
    """
    require_capability(actor, WRITE)
    try:
        value = to_decimal(amount)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(str(exc), fields={"amount": [str(exc)]}) from None
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required.", fields={"reason": ["required"]})
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if not has_valid_places(value, tenant.currency):
            raise ValidationFailed(f"{tenant.currency} amounts have at most 2 decimal places.", fields={"amount": ["too many decimal places"]})
        value = quantize(value, tenant.currency)
        if value == 0:
            raise ValidationFailed("The amount must not be zero.", fields={"amount": ["zero"]})
        new_balance = tenant.credit_balance + value
        if new_balance < 0:
            raise ValidationFailed(
                f"The tenant has only {tenant.credit_balance} {tenant.currency} of credit.",
                code="insufficient_credit", fields={"amount": ["exceeds the credit balance"]},
            )
        before = {"credit_balance": tenant.credit_balance}
        tenant.credit_balance = new_balance
        tenant.save(update_fields=["credit_balance", "updated_at"])
        entry = CreditLedgerEntry.objects.create(
            tenant=tenant, amount=value, currency=tenant.currency, balance_after=new_balance, reason=reason,
            source_type=source_type, source_id=str(source_id or ""), created_by=actor_user(actor),
        )
        audit.record(actor=actor, action="tenant.credit_adjusted", obj=tenant, before=before,
                     after={"credit_balance": new_balance, "amount": value}, reason=reason)
        events.emit("tenant.credit_adjusted", actor=actor, tenant_id=tenant.pk, amount=value, currency=tenant.currency)
    return entry
