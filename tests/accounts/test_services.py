from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts import services
from accounts.models import AuditEntry, CreditLedgerEntry, Tenant
from billing_ops.access import has_capability
from billing_ops.errors import PermissionDenied, TransitionNotAllowed, ValidationFailed
from billing_ops.models import DomainEvent
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_tenant_create_audits_and_emits(billing_user):
    tenant = services.tenant_create(actor=billing_user, name="Zed", billing_email="a@zed.example", currency="KES", country="ke")
    assert tenant.country == "KE" and tenant.status == "active" and tenant.credit_balance == Decimal("0.00")
    entry = AuditEntry.objects.get(action="tenant.created")
    assert entry.actor == billing_user and entry.object_id == str(tenant.pk) and entry.after["currency"] == "KES"
    assert DomainEvent.objects.filter(name="tenant.created", payload__tenant_id=tenant.pk).exists()


@pytest.mark.parametrize("field,value", [("currency", "XYZ"), ("country", "Nigeria"), ("name", "  ")])
def test_tenant_create_rejects_bad_input_and_writes_nothing(billing_user, field, value):
    data = {"name": "Ok", "billing_email": "a@b.example", "currency": "NGN", "country": "NG", field: value}
    with pytest.raises(ValidationFailed) as exc:
        services.tenant_create(actor=billing_user, **data)
    assert field in exc.value.fields
    assert not Tenant.objects.exists() and not AuditEntry.objects.exists()


def test_onboarding_cannot_create_tenants(onboarding_user):
    with pytest.raises(PermissionDenied):
        services.tenant_create(actor=onboarding_user, name="X", billing_email="a@b.example", currency="NGN", country="NG")
    assert not Tenant.objects.exists()


def test_tenant_update_records_before_and_after_without_the_secret(billing_user):
    tenant = TenantFactory(name="Old name")
    services.tenant_update(actor=billing_user, tenant=tenant, name="New name", deployment_webhook_secret="s3cr3t-value")
    entry = AuditEntry.objects.get(action="tenant.updated")
    assert entry.before["name"] == "Old name" and entry.after["name"] == "New name"
    assert "s3cr3t-value" not in str(entry.before) + str(entry.after)
    tenant.refresh_from_db()
    assert tenant.deployment_webhook_secret == "s3cr3t-value"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT deployment_webhook_secret FROM accounts_tenant WHERE id = %s", [tenant.pk])
        stored = cursor.fetchone()[0]
    assert stored and "s3cr3t-value" not in stored  # encrypted at rest


def test_tenant_status_transitions(billing_user):
    tenant = TenantFactory()
    services.tenant_set_status(actor=billing_user, tenant=tenant, status="suspended", reason="Unpaid")
    tenant.refresh_from_db()
    assert tenant.status == "suspended" and tenant.suspended_at and tenant.suspension_reason == "Unpaid"
    services.tenant_set_status(actor=billing_user, tenant=tenant, status="active", reason="Paid")
    tenant.refresh_from_db()
    assert tenant.status == "active" and tenant.suspended_at is None
    assert list(DomainEvent.objects.order_by("created_at").values_list("name", flat=True)) == ["tenant.suspended", "tenant.reactivated"]
    services.tenant_set_status(actor=billing_user, tenant=tenant, status="closed", reason="Left")
    with pytest.raises(TransitionNotAllowed):
        services.tenant_set_status(actor=billing_user, tenant=tenant, status="active", reason="Back?")
    with pytest.raises(ValidationFailed):
        services.tenant_set_status(actor=billing_user, tenant=TenantFactory(), status="suspended", reason="")


def test_credit_ledger_keeps_balance_equal_to_its_entries(billing_user):
    tenant = TenantFactory(currency="USD")
    services.tenant_credit_adjust(actor=billing_user, tenant=tenant, amount="10.00", reason="Goodwill")
    services.tenant_credit_adjust(actor=billing_user, tenant=tenant, amount=Decimal("-2.50"), reason="Applied")
    tenant.refresh_from_db()
    assert tenant.credit_balance == Decimal("7.50")
    assert sum(e.amount for e in CreditLedgerEntry.objects.filter(tenant=tenant)) == tenant.credit_balance
    with pytest.raises(ValidationFailed) as exc:
        services.tenant_credit_adjust(actor=billing_user, tenant=tenant, amount="-7.51", reason="Too much")
    assert exc.value.code == "insufficient_credit"
    for bad in ("1.005", "0", "abc"):
        with pytest.raises(ValidationFailed):
            services.tenant_credit_adjust(actor=billing_user, tenant=tenant, amount=bad, reason="Bad")
    with pytest.raises(ValidationFailed):
        services.tenant_credit_adjust(actor=billing_user, tenant=tenant, amount=1.5, reason="Float")
    tenant.refresh_from_db()
    assert tenant.credit_balance == Decimal("7.50") and CreditLedgerEntry.objects.count() == 2


def test_roles_are_created_by_migration_with_contract_capabilities():
    from django.contrib.auth.models import Group

    perms = {g.name: {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()} for g in Group.objects.all()}
    assert {"billing.read", "billing.write", "billing.approve"} <= perms["billing"]
    assert "billing.configure_payments" not in perms["billing"]
    assert perms["onboarding"] == {"billing.read", "billing.manage_subscription"}
    assert "billing.configure_payments" in perms["super_admin"]


def test_create_staff_user_command_gives_exactly_one_role():
    call_command("create_staff_user", username="ada", email="ada@x.example", role="billing", password="long-enough-pass-1")
    user = get_user_model().objects.get(username="ada")
    assert [g.name for g in user.groups.all()] == ["billing"]
    assert user.check_password("long-enough-pass-1") and not user.is_superuser
    assert has_capability(user, "billing.approve") and not has_capability(user, "billing.configure_payments")


def test_create_staff_user_refuses_weak_password_and_duplicates():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_staff_user", username="bob", email="b@x.example", role="billing", password="123")
    call_command("create_staff_user", username="bob", email="b@x.example", role="onboarding", password="long-enough-pass-1")
    with pytest.raises(CommandError):
        call_command("create_staff_user", username="bob", email="b@x.example", role="onboarding", password="long-enough-pass-1")


def test_onboarding_sees_only_assigned_tenants(onboarding_user, billing_user):
    from billing_ops.access import visible_tenants

    mine, other = TenantFactory(), TenantFactory()
    services.tenant_assign_onboarding(tenant=mine, user=onboarding_user, actor=billing_user)
    assert list(visible_tenants(onboarding_user)) == [mine]
    assert set(visible_tenants(billing_user)) == {mine, other}
    services.tenant_assign_onboarding(tenant=mine, user=onboarding_user, actor=billing_user, assigned=False)
    assert not visible_tenants(onboarding_user).exists()
