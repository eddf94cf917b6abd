"""Payments factories (Tenant/Invoice factories come from tests/factories.py)."""
from __future__ import annotations

from decimal import Decimal

import factory

from payments.models import Payment, PaymentMethod
from tests.factories import InvoiceFactory, TenantFactory


class PaymentMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentMethod

    tenant = factory.SubFactory(TenantFactory)
    authorization_code = factory.Sequence(lambda n: f"AUTH_card{n:05d}")
    email = factory.LazyAttribute(lambda o: o.tenant.billing_email)
    brand = "visa"
    last4 = "4081"
    exp_month = 12
    exp_year = 2030
    bank = "TEST BANK"
    reusable = True
    is_default = True


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    invoice = factory.SubFactory(InvoiceFactory)
    tenant = factory.SelfAttribute("invoice.tenant")
    amount = Decimal("100.00")
    currency = factory.SelfAttribute("invoice.currency")
    method = "bank_transfer"
    status = "succeeded"
    reference = factory.Sequence(lambda n: f"PAY-{n:06d}")
    applied_amount = factory.SelfAttribute("amount")
