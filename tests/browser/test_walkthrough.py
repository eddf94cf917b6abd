"""The whole console in a real browser, on the demo data (`seed_demo`).

1. Each role signs in and opens every screen of its navigation plus the detail screens behind them:
   every one answers 200 with no error text and no browser-side error, and onboarding staff cannot
   reach the billing-only or super-admin screens.
2. The day-to-day work, end to end: start a subscription, preview and apply a prorated change, create
   and send an invoice, download its PDF and the CSV export, record a manual payment, remind and
   suspend a dunning case, draft a credit note (super admin) that onboarding fails to approve and
   billing approves (four eyes), and edit the Paystack configuration against the bundled fake.

A full-page screenshot of every screen goes to var/screenshots/ (BROWSER_SCREENSHOT_DIR overrides);
docs/screenshots/ holds a curated copy of a few of them for the README.
"""
from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.payments.conftest import FAKE_SECRET, fake_paystack  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

DEMO_PASSWORDS = {"admin": "demo-admin-2026", "billing": "demo-billing-2026", "onboarding": "demo-onboarding-2026"}
# Text that only appears when something went wrong (Django's debug pages, our error templates, template slips).
# A Python None rendered by a template (the audit trail shows recorded empty values as "—").
NONE_TEXT = re.compile(r"\bNone\b")
ERROR_TEXT = re.compile(
    r"Traceback|Server Error|TemplateSyntaxError|NoReverseMatch|VariableDoesNotExist|Page not found|"
    r"You do not have permission|This page does not exist|Something went wrong|\bnan\b|\{%"
)
# Screens only billing staff and super admins may open (onboarding: 403), and super-admin-only screens.
WRITE_ONLY = ["/billing/subscription-new/", "/billing/invoice-new/", "/billing/credit-note-new/", "/billing/payments/new/",
              "/billing/plan-new/", "/billing/coupon-new/", "/clients/tenant-new/", "/billing/meter-new/"]
SUPER_ADMIN_ONLY = ["/billing/payment-config/", "/billing/audit/"]


# The page's text, how far the document is wider than the window, and how far a block of the main
# column (header, card, table) reaches past the column's content edge (a table too wide for the screen).
LAYOUT_JS = """() => {
  const root = document.documentElement, main = document.querySelector("main.content");
  let spill = 0;
  if (main) {
    const edge = main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight);
    for (const child of main.children) spill = Math.max(spill, child.getBoundingClientRect().right - edge);
  }
  return [document.body.innerText, root.scrollWidth - root.clientWidth, Math.round(spill)];
}"""


@pytest.fixture
def demo(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("seed_demo", stdout=io.StringIO())
    from django.contrib.auth import get_user_model

    return {user.username: user for user in get_user_model().objects.filter(username__in=DEMO_PASSWORDS)}


@pytest.fixture
def browser_errors(page):
    """JavaScript errors and failed same-origin requests seen by the page."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    return errors


@pytest.fixture
def session(page, login, demo, screenshot, browser_errors):
    class Session:
        def __init__(self):
            self.taken: set[str] = set()  # screens already photographed

        def sign_in(self, username: str):
            page.goto("/login/")
            if page.locator("text=Sign out").count():
                page.click("text=Sign out")
                page.wait_for_url("**/login/")
            login(demo[username], DEMO_PASSWORDS[username])
            self.user = username

        def open(self, path: str, name: str | None = None, *, status: int = 200, once: bool = False):
            """Open a screen; with a name, screenshot it (with once=True only for the first role that opens it)."""
            response = page.goto(path)
            assert response.status == status, f"{self.user} {path}: HTTP {response.status}"
            if status != 200:
                browser_errors.clear()  # the refused page's own status shows up as a console error
                return response
            if name and not (once and name in self.taken):
                self.taken.add(name)
                screenshot(f"{self.user}-{name}")
            self.check(path)
            return response

        def check(self, where: str):
            text, overflow, spill = page.evaluate(LAYOUT_JS)
            found = ERROR_TEXT.search(text)
            assert found is None, f"{self.user} {where}: error text in {text[max(0, found.start() - 80):found.end() + 80]!r}"
            found = NONE_TEXT.search(text)
            assert found is None, f"{self.user} {where}: None in {text[max(0, found.start() - 80):found.end() + 80]!r}"
            assert not browser_errors, f"{self.user} {where}: {browser_errors}"
            assert overflow <= 0, f"{self.user} {where}: the page is {overflow}px wider than the window"
            assert spill <= 1, f"{self.user} {where}: a block runs {spill}px past the right edge of the content"

        def shot(self, name: str):
            screenshot(f"{self.user}-{name}")
            self.check(name)

    return Session()


def nav_links(page) -> dict[str, str]:
    return {a.inner_text().strip(): a.get_attribute("href") for a in page.locator("nav.sidebar li a").all()}


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def detail_screens(user) -> dict[str, str]:
    """One of each detail screen the user can see, from the demo data."""
    from billing_ops.access import visible_tenants
    from dunning.models import DunningCase
    from invoicing.models import CreditNote, Invoice
    from payments.models import Payment
    from subscriptions.models import Subscription

    tenants = visible_tenants(user)
    tenant = tenants.filter(subscriptions__status="active").order_by("pk").first()
    screens = {
        "tenant": f"/clients/tenant/{tenant.pk}/",
        "tenant-subscription": f"/clients/tenant/{tenant.pk}/subscription",
        "subscription": f"/billing/subscriptions/{Subscription.objects.filter(tenant__in=tenants).order_by('pk').first().pk}/",
        "renewals": "/billing/renewals/",
        "plans": "/billing/plans/",
        "coupons": "/billing/coupons/",
        "dunning-templates": "/billing/dunning/templates/",
        "webhook-review": "/billing/payments/review/",
    }
    invoice = Invoice.objects.filter(tenant__in=tenants).exclude(number="").order_by("pk").first()
    if invoice:
        screens["invoice"] = f"/billing/invoices/{invoice.pk}/"
    case = DunningCase.objects.filter(invoice__tenant__in=tenants, status="open").order_by("pk").first()
    if case:
        screens["dunning-case"] = f"/billing/dunning/{case.pk}/"
    payment = Payment.objects.filter(tenant__in=tenants).order_by("pk").first()
    if payment:
        screens["payment"] = f"/billing/payments/{payment.pk}/"
    note = CreditNote.objects.filter(tenant__in=tenants).order_by("pk").first()
    if note:
        screens["credit-note"] = f"/billing/credit-notes/{note.pk}/"
    return screens


def test_every_role_walks_every_screen(page, session, demo):
    seen_nav = {}
    for username in ("billing", "admin", "onboarding"):
        session.sign_in(username)
        session.shot("dashboard")
        # The MRR panel counts only the tenants the user may see: the EUR and USD demo tenants are not
        # assigned to the onboarding user.
        assert ("MRR (EUR)" in page.content()) is (username != "onboarding")
        links = nav_links(page)
        seen_nav[username] = set(links)
        for label, href in links.items():
            session.open(href, slug(label), once=True)
        for name, path in detail_screens(demo[username]).items():
            session.open(path, name, once=True)
        if username != "onboarding":
            for path in WRITE_ONLY:
                session.open(path, slug(path.strip("/").split("/", 1)[-1]), once=True)
    assert {"Payment config", "Audit log"} <= seen_nav["admin"]
    assert not {"Payment config", "Audit log"} & seen_nav["billing"]
    assert not {"Payment config", "Audit log"} & seen_nav["onboarding"]

    # Onboarding cannot reach billing-only or super-admin screens, nor tenants not assigned to them.
    for path in WRITE_ONLY + SUPER_ADMIN_ONLY:
        session.open(path, status=403)
    from accounts.models import Tenant
    from billing_ops.access import visible_tenants

    hidden = Tenant.objects.exclude(pk__in=visible_tenants(demo["onboarding"])).order_by("pk").first()
    session.open(f"/clients/tenant/{hidden.pk}/", status=404)
    session.open("/billing/invoices/")
    assert "New invoice" not in page.inner_text("main")


def test_billing_work_end_to_end(page, session, demo, settings, fake_paystack):  # noqa: F811
    from accounts.models import Tenant
    from accounts.services import tenant_create
    from dunning.models import DunningCase
    from invoicing.models import CreditNote, Invoice
    from payments.models import PaystackConfig
    from subscriptions.models import PendingProration, Plan, Price, Subscription

    settings.PAYSTACK_BASE_URL = fake_paystack.base_url
    today = timezone.localdate()
    newcomer = tenant_create(actor=demo["billing"], name="Browser Foods", legal_name="Browser Foods Ltd",
                             billing_email="ap@browserfoods.example", country="NG", currency="NGN")

    # --- super admin: the Paystack configuration, checked against the fake ---------------------------------
    session.sign_in("admin")
    session.open("/billing/payment-config/")
    page.check("input[name=mode][value=test]")
    page.fill("#id_test_public_key", "pk_test_browser000000001234")
    page.fill("#id_test_secret_key", FAKE_SECRET)
    with page.expect_navigation():
        page.click("form:has(#id_mode_0) button[type=submit]")
    assert "saved" in page.inner_text(".message.success")
    calls = fake_paystack.request_count
    with page.expect_navigation():
        page.click("button:has-text('Test connection')")
    assert fake_paystack.request_count > calls  # the balance check reached the fake Paystack
    assert page.locator(".message.success").count() and not page.locator(".message.error").count()
    session.shot("payment-config-saved")
    config = PaystackConfig.objects.get()
    assert config.mode == "test" and config.test_secret_key == FAKE_SECRET

    # --- billing: a new subscription and a prorated change ------------------------------------------------
    session.sign_in("billing")
    page.click("nav.sidebar >> text=Subscriptions")
    page.click("text=New subscription")
    page.select_option("#id_tenant", str(newcomer.pk))
    starter = Plan.objects.get(code="starter-ngn")
    page.select_option("#id_plan", str(starter.pk))
    page.fill("#id_start_date", str(today - timedelta(days=10)))
    page.fill("#id_trial_days", "0")
    session.shot("subscription-new-filled")
    page.click("button:has-text('Start subscription')")
    page.wait_for_url("**/billing/subscriptions/*/")
    sub = Subscription.objects.get(tenant=newcomer)
    assert sub.status == "active"
    session.shot("subscription-created")

    page.goto(f"/clients/tenant/{newcomer.pk}/subscription")
    seat = Price.objects.get(nickname="Extra seat · NGN")
    page.select_option("#id_plan", str(Plan.objects.get(code="growth-ngn").pk))
    page.select_option("#id_add_price", str(seat.pk))
    page.fill("#id_add_quantity", "3")
    page.fill("#id_reason", "Upgrade to Growth with three seats")
    page.click("button[value=preview]")
    page.wait_for_selector("#preview")
    assert "Remaining time" in page.inner_text("#preview")
    session.shot("subscription-change-preview")
    page.click("button[value=apply]")
    page.wait_for_selector(".message.success")
    assert PendingProration.objects.filter(subscription=sub).exists()
    sub.refresh_from_db()
    assert sub.plan.code == "growth-ngn"
    session.shot("subscription-change-applied")

    # --- billing: an invoice, sent; its PDF and the CSV export ---------------------------------------------
    acme = Tenant.objects.get(name="Acme Logistics")  # assigned to the onboarding user by the demo data
    page.goto("/billing/invoices/")
    page.click("text=New invoice")
    page.wait_for_url("**/billing/invoice-new/")
    page.select_option("#id_tenant", str(acme.pk))
    page.fill("#id_lines-0-description", "Implementation workshop")
    page.fill("#id_lines-0-unit_price", "80000.00")
    page.fill("#id_lines-0-tax_rate", "7.5")
    page.fill("#id_credit", "0")
    page.wait_for_function("document.querySelector('[data-total=total]').textContent.includes('86,000.00')")
    session.shot("invoice-new-filled")
    page.click("button[value=send]")
    page.wait_for_url("**/billing/invoices/*/")
    invoice = Invoice.objects.get(tenant=acme, lines__description="Implementation workshop")
    assert invoice.status == "issued" and invoice.number in page.inner_text("h1")
    session.shot("invoice-sent")

    pdf = page.request.get(f"/billing/invoices/{invoice.pk}/pdf?download=1")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:4] == b"%PDF"
    page.goto("/billing/invoices/")
    with page.expect_download() as csv_download:
        page.click("text=Export CSV")
    csv_text = open(csv_download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    assert invoice.number in csv_text and csv_text.splitlines()[0].count(",") >= 5

    # --- billing: a manual payment of part of it ----------------------------------------------------------
    page.goto(f"/billing/invoices/{invoice.pk}/")
    panel_form = page.locator(f"form[action*='/billing/payments/new/?invoice={invoice.pk}']")
    panel_form.locator("input[name=amount]").fill("40000.00")
    panel_form.locator("input[name=reference]").fill("GTB-TRF-0042")
    panel_form.locator("button[type=submit]").click()
    page.wait_for_selector(".message.success")
    session.shot("payment-recorded")
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("40000.00") and invoice.amount_due == Decimal("46000.00")

    # --- billing: remind, then suspend, a dunning case ---------------------------------------------------
    case = DunningCase.objects.filter(status="open", invoice__tenant__status="active").order_by("step", "pk").first()
    step = case.step
    page.goto(f"/billing/dunning/{case.pk}/")
    page.click("form[action$='/remind/'] button[type=submit]")
    page.wait_for_selector(".message.success")
    session.shot("dunning-reminded")
    page.fill("input[name=reason][aria-label='Reason for suspension']", "No answer after the final reminder")
    page.click("button:has-text('Suspend subscription and tenant')")
    page.wait_for_selector(".message.success")
    session.shot("dunning-suspended")
    case.refresh_from_db()
    assert case.status == "suspended"
    assert case.step > step

    # --- four eyes on a credit note: drafted by the super admin, refused to onboarding, approved by billing ---
    session.sign_in("admin")
    page.goto(f"/billing/invoices/{invoice.pk}/")
    page.click("text=New credit note")
    page.fill("#id_amount", "10750.00")
    page.fill("#id_reason", "Workshop ran half a day short")
    session.shot("credit-note-new")
    page.click("button:has-text('Draft credit note')")
    page.wait_for_url("**/billing/credit-notes/*/")
    note = CreditNote.objects.get(invoice=invoice)
    assert note.status == "draft"

    session.sign_in("onboarding")
    session.open(f"/billing/credit-notes/{note.pk}/", "credit-note-draft")
    assert page.locator("button:has-text('Approve')").count() == 0
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(f"/billing/credit-notes/{note.pk}/approve", headers={"X-CSRFToken": csrf})
    assert refused.status == 403
    note.refresh_from_db()
    assert note.status == "draft"

    session.sign_in("billing")
    page.goto(f"/billing/credit-notes/{note.pk}/")
    page.click("button:has-text('Approve')")
    page.wait_for_selector(".message.success")
    session.shot("credit-note-approved")
    note.refresh_from_db()
    invoice.refresh_from_db()
    assert note.status in ("approved", "applied") and invoice.amount_due == Decimal("35250.00")

