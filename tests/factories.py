"""factory_boy factories for test data. Money is always a Decimal string, never a float."""
from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.models import Tenant


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@staff.example")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    legal_name = factory.LazyAttribute(lambda o: f"{o.name} Ltd")
    billing_email = factory.Sequence(lambda n: f"billing{n}@tenant.example")
    country = "NG"
    currency = "NGN"
    credit_balance = Decimal("0.00")


# --- subscriptions ------------------------------------------------------------------------------
import datetime as _dt  # noqa: E402

from subscriptions.models import Plan, Price, Product, Subscription, SubscriptionItem  # noqa: E402


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")


class PriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Price

    product = factory.SubFactory(ProductFactory)
    currency = "NGN"
    pricing_model = "flat"
    unit_amount = Decimal("29.00")
    interval = "monthly"


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    name = factory.Sequence(lambda n: f"Plan {n}")
    code = factory.Sequence(lambda n: f"plan-{n}")
    currency = "NGN"
    interval = "monthly"
    base_price = factory.SubFactory(PriceFactory, currency=factory.SelfAttribute("..currency"), interval=factory.SelfAttribute("..interval"))


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    plan = factory.SubFactory(PlanFactory, currency=factory.SelfAttribute("..tenant.currency"))
    currency = factory.SelfAttribute("tenant.currency")
    status = "active"
    billing_anchor = _dt.date(2026, 11, 1)
    current_period_start = _dt.date(2026, 11, 1)
    current_period_end = _dt.date(2026, 12, 1)

    @factory.post_generation
    def with_base_item(self, create, extracted, **kwargs):
        if create and extracted is not False:
            SubscriptionItem.objects.create(subscription=self, price=self.plan.base_price, kind="base", quantity=1)


# --- invoicing ----------------------------------------------------------------------------------
from invoicing.models import Invoice, InvoiceLine  # noqa: E402


class InvoiceFactory(factory.django.DjangoModelFactory):
    """An invoice whose amounts are set directly (use the amount engine for computed ones)."""

    class Meta:
        model = Invoice

    tenant = factory.SubFactory(TenantFactory)
    currency = factory.SelfAttribute("tenant.currency")
    status = "issued"
    number = factory.Sequence(lambda n: f"INV-2026-{900000 + n:06d}")
    issue_date = _dt.date(2026, 11, 1)
    due_date = _dt.date(2026, 11, 15)
    subtotal = Decimal("100.00")
    total = Decimal("100.00")
    amount_due = factory.LazyAttribute(lambda o: o.total)


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory)
    description = "Service"
    quantity = Decimal("1")
    unit_price = Decimal("100.00")
    amount = Decimal("100.00")
    net = Decimal("100.00")
    total = Decimal("100.00")
