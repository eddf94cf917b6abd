"""Demo data for accounts: one staff user per role and a book of tenants."""
from __future__ import annotations

from decimal import Decimal

from accounts import services
from accounts.models import Tenant
from billing_ops.access import BILLING, ONBOARDING, SUPER_ADMIN

DEMO_USERS = [
    (SUPER_ADMIN, "admin", "admin@billing-ops.local", "demo-admin-2026"),
    (BILLING, "billing", "billing@billing-ops.local", "demo-billing-2026"),
    (ONBOARDING, "onboarding", "onboarding@billing-ops.local", "demo-onboarding-2026"),
]

DEMO_TENANTS = [
    # name, legal name, email, country, currency, tax id type, tax id
    ("Acme Logistics", "Acme Logistics Nigeria Ltd", "billing@acme.example", "NG", "NGN", "ng_tin", "12345678-0001"),
    ("Kumasi Foods", "Kumasi Foods Company", "accounts@kumasifoods.example", "GH", "GHS", "gh_tin", "C0001234567"),
    ("Cape Analytics", "Cape Analytics (Pty) Ltd", "finance@capeanalytics.example", "ZA", "ZAR", "za_vat", "4123456789"),
    ("Nairobi Fintech", "Nairobi Fintech Ltd", "ap@nairobifintech.example", "KE", "KES", "ke_pin", "P051234567X"),
    ("Lagos Retail Hub", "Lagos Retail Hub Ltd", "pay@lagosretail.example", "NG", "NGN", "ng_tin", "22345678-0001"),
    ("Abuja Health", "Abuja Health Services Ltd", "billing@abujahealth.example", "NG", "NGN", "", ""),
    ("Delta Energy", "Delta Energy Plc", "ap@deltaenergy.example", "NG", "NGN", "ng_tin", "32345678-0001"),
    ("Accra Media", "Accra Media Group", "finance@accramedia.example", "GH", "GHS", "", ""),
    ("Berlin Robotics", "Berlin Robotics GmbH", "rechnung@berlinrobotics.example", "DE", "EUR", "eu_vat", "DE123456789"),
    ("Austin Devtools", "Austin Devtools Inc.", "ap@austindevtools.example", "US", "USD", "us_ein", "12-3456789"),
    ("Durban Shipping", "Durban Shipping (Pty) Ltd", "accounts@durbanship.example", "ZA", "ZAR", "", ""),
    ("Mombasa Travel", "Mombasa Travel Ltd", "billing@mombasatravel.example", "KE", "KES", "", ""),
]


def seed(ctx: dict) -> None:
    actor = ctx["actor"]
    users = {}
    for role, username, email, password in DEMO_USERS:
        users[role] = services.staff_user_create(username=username, email=email, role=role, password=password, actor=actor)
        ctx.setdefault("logins", []).append((role, username, password))
    ctx["users"] = users
    tenants = []
    for name, legal, email, country, currency, tax_type, tax_id in DEMO_TENANTS:
        tenants.append(services.tenant_create(
            actor=actor, name=name, legal_name=legal, billing_email=email, country=country, currency=currency,
            tax_id_type=tax_type, tax_id=tax_id, address=f"{name} HQ, {country}",
            deployment_webhook_url=f"http://127.0.0.1:8099/tenants/{name.lower().replace(' ', '-')}/billing-events",
        ))
    ctx["tenants"] = tenants
    services.tenant_credit_adjust(actor=actor, tenant=tenants[0], amount=Decimal("5000.00"), reason="Goodwill credit for onboarding delay")
    services.tenant_credit_adjust(actor=actor, tenant=tenants[9], amount=Decimal("25.00"), reason="Referral credit")
    # Onboarding staff look after the first half of the book only.
    for tenant in tenants[: len(tenants) // 2]:
        services.tenant_assign_onboarding(tenant=tenant, user=users[ONBOARDING], actor=actor)
    services.tenant_set_status(actor=actor, tenant=tenants[-1], status="closed", reason="Customer left in 2025")


def is_seeded() -> bool:
    return Tenant.objects.exists()
