"""Dashboard panels. Each app registers a provider; the dashboard shows those the user may read."""
from __future__ import annotations

from collections.abc import Callable

_providers: list[Callable] = []


def register_panel(provider: Callable) -> Callable:
    """``provider(user) -> dict | None`` with keys title, template (optional), rows/figures."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def dashboard_panels(*, user) -> list[dict]:
    panels = []
    for provider in _providers:
        panel = provider(user)
        if panel:
            panels.append(panel)
    return panels
