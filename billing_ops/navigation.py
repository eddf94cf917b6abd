"""The console's navigation. Each item names the capability it needs; the layout shows only those allowed."""
from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from billing_ops.access import CONFIGURE_PAYMENTS, READ, VIEW_AUDIT


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    capability: str
    section: str = "billing"

    def available(self) -> bool:
        try:
            reverse(self.url_name)
        except NoReverseMatch:
            return False
        return True

    @property
    def url(self) -> str:
        return reverse(self.url_name)


# Items whose screen does not exist yet are hidden until their app provides the URL.
NAVIGATION = [
    NavItem("Dashboard", "billing:dashboard", READ),
    NavItem("Subscriptions", "subscriptions:list", READ),
    NavItem("Renewals", "subscriptions:renewals", READ),
    NavItem("Invoices", "invoicing:list", READ),
    NavItem("Credit notes", "invoicing:credit-note-list", READ),
    NavItem("Payments", "payments:list", READ),
    NavItem("Dunning", "dunning:queue", READ),
    NavItem("Analytics", "billing:analytics", READ),
    NavItem("Meters", "usage:meter-list", READ),  # usage billing (issue 8)
    NavItem("Tenants", "accounts:tenant-list", READ, section="clients"),
    NavItem("Payment config", "payments:config", CONFIGURE_PAYMENTS, section="admin"),
    NavItem("Audit log", "accounts:audit-log", VIEW_AUDIT, section="admin"),
]
# Dunning policy sits right under Dunning (inserted, so the sections stay contiguous for the layout).
NAVIGATION.insert([i.url_name for i in NAVIGATION].index("dunning:queue") + 1, NavItem("Dunning policy", "dunning:policy", READ))
