"""The agreed cross-app interfaces dunning calls. Skipped until the other apps are merged; then they must hold."""
import inspect

import pytest


def _keyword_params(func) -> set[str]:
    return {name for name, p in inspect.signature(func).parameters.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def test_charge_invoice_signature():
    services = pytest.importorskip("payments.services")
    assert {"actor", "invoice", "payment_method", "reason"} <= _keyword_params(services.charge_invoice)


def test_payment_method_fields():
    models = pytest.importorskip("payments.models")
    if not hasattr(models, "PaymentMethod"):
        pytest.skip("payments.models.PaymentMethod is not merged yet")
    names = {f.name for f in models.PaymentMethod._meta.get_fields()}
    assert {"tenant", "brand", "last4", "exp_month", "exp_year", "reusable", "is_default"} <= names


@pytest.mark.parametrize("name", ["subscription_suspend", "subscription_reactivate", "subscription_mark_past_due"])
def test_subscription_services_signature(name):
    services = pytest.importorskip("subscriptions.services")
    assert {"actor", "subscription", "reason"} <= _keyword_params(getattr(services, name))


@pytest.mark.django_db
def test_case_uses_subscription_services_when_present(billing_user):
    pytest.importorskip("subscriptions.services")
    from dunning import services
    from tests.dunning.factories import open_case

    case = open_case()
    case.subscription.refresh_from_db()
    assert case.subscription.status == "past_due"
    services.case_suspend(actor=billing_user, case=case, reason="test")
    case.subscription.refresh_from_db()
    assert case.subscription.status == "suspended"
