import pytest
from django.db import connection, transaction

from accounts import audit
from accounts.models import AuditEntry
from billing_ops.actors import system
from billing_ops.request_context import _client_ip
from tests.factories import TenantFactory


@pytest.mark.django_db
def test_record_writes_actor_object_values_reason_and_ip(billing_user):
    tenant = TenantFactory()
    token = _client_ip.set("10.1.2.3")
    try:
        entry = audit.record(actor=billing_user, action="tenant.poked", obj=tenant, before={"a": 1}, after={"a": 2}, reason="why")
    finally:
        _client_ip.reset(token)
    entry.refresh_from_db()
    assert (entry.actor, entry.actor_label, entry.object_type, entry.object_id) == (billing_user, billing_user.username, "accounts.tenant", str(tenant.pk))
    assert (entry.before, entry.after, entry.reason, entry.ip_address, entry.tenant_id) == ({"a": 1}, {"a": 2}, "why", "10.1.2.3", tenant.pk)


@pytest.mark.django_db
def test_system_actor_is_labelled():
    entry = audit.record(actor=system("renewals"), action="x", object_type="thing", object_id=1)
    assert entry.actor is None and entry.actor_label == "system:renewals"


@pytest.mark.django_db
def test_entries_refuse_update_and_delete_through_the_orm():
    entry = audit.record(actor=None, action="x", object_type="thing", object_id=1)
    entry.reason = "tampered"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="tampered")
    with pytest.raises(TypeError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="database trigger exists on PostgreSQL only")
def test_database_refuses_raw_update_and_delete():
    from django.db import DatabaseError

    entry = audit.record(actor=None, action="x", object_type="thing", object_id=1)
    for sql in ("UPDATE accounts_auditentry SET reason = 'x' WHERE id = %s", "DELETE FROM accounts_auditentry WHERE id = %s"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.filter(pk=entry.pk, reason="").exists()


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        audit.record(actor=None, action="x", object_type="thing", object_id=1)
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_audit_entry_rolls_back_with_the_change(billing_user):
    from accounts import services

    tenant = TenantFactory()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        services.tenant_update(actor=billing_user, tenant=tenant, name="Renamed")
        raise Boom
    tenant.refresh_from_db()
    assert tenant.name != "Renamed" and not AuditEntry.objects.filter(action="tenant.updated").exists()
