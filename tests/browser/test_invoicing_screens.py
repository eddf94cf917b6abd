"""The new-invoice screen in a real browser: addable lines and the live total from the server's engine."""
import pytest

from invoicing.models import Invoice
from tests.factories import TenantFactory
from tests.invoicing.factories import with_credit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_new_invoice_live_total_matches_the_contract_example(page, login, billing_user, screenshot):
    tenant = with_credit(TenantFactory(name="Browser Foods"), "5.00")
    login(billing_user)
    page.goto(f"/billing/invoice-new/?tenant={tenant.pk}")
    page.fill("#id_lines-0-description", "Plan")
    page.fill("#id_lines-0-unit_price", "29.00")
    page.fill("#id_lines-0-tax_rate", "20")
    page.click("#add-line")
    page.fill("#id_lines-1-description", "Add-on")
    page.fill("#id_lines-1-unit_price", "10.00")
    page.fill("#id_lines-1-tax_rate", "20")
    page.select_option("#id_discount_kind", "percent")
    page.fill("#id_discount_value", "20")
    page.fill("#id_credit", "5.00")
    page.wait_for_function("document.querySelector('[data-total=total]').textContent.includes('31.44')")
    assert page.inner_text("[data-total=tax]").endswith("5.24")
    screenshot("invoice-new-live-total")
    page.click("button[value=send]")
    page.wait_for_url("**/billing/invoices/*/")
    invoice = Invoice.objects.get()
    assert invoice.number and invoice.total == invoice.amount_due and str(invoice.total) == "31.44"
    assert invoice.number in page.inner_text("h1")
    screenshot("invoice-detail")
