import pytest

from billing_ops.actors import system
from invoicing.models import CreditNote, Invoice


@pytest.mark.django_db
def test_demo_has_every_status_and_credit_notes():
    from accounts import demo as accounts_demo
    from invoicing import demo

    ctx = {"actor": system("seed_demo")}
    accounts_demo.seed(ctx)
    demo.seed(ctx)
    assert set(Invoice.objects.values_list("status", flat=True)) == {"draft", "issued", "overdue", "paid", "void", "uncollectible"}
    assert set(CreditNote.objects.values_list("status", flat=True)) == {"draft", "approved"}
    assert len(ctx["invoices"]) == Invoice.objects.count()


@pytest.mark.django_db
def test_seed_demo_command_runs(capsys):
    from django.core.management import call_command

    call_command("seed_demo")
    assert Invoice.objects.exists()
