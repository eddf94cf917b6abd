"""Sections other apps add to the tenant page (subscription, invoices, payments, notifications)."""
from __future__ import annotations

from collections.abc import Callable

_providers: list[Callable] = []


def register_tenant_panel(provider: Callable) -> Callable:
    """``provider(tenant, user) -> dict | None`` with keys title and template (+ context)."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def tenant_panels(*, tenant, user) -> list[dict]:
    return [panel for provider in _providers if (panel := provider(tenant, user))]
