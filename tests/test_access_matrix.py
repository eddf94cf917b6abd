"""Role × URL access matrix over EVERY URL pattern the project defines (screens and API).

A new URL without an entry in tests/<app>/access.py fails `test_every_url_has_an_access_rule`;
each (url, method, role) pair is then requested for real and its status checked against the
capabilities CONTRACT §2 gives each role.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from billing_ops.access import PUBLIC, ROLE_CAPABILITIES, capability_for
from tests.access_rules import EXPECTED, SAMPLES, SIGNATURE_AUTHENTICATED, build_world

ROLES = ["anonymous", "onboarding", "billing", "super_admin"]
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _walk(resolver, prefix="", namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}" if entry.name else None, prefix + str(entry.pattern), entry


def project_patterns():
    found = []
    for name, route, entry in _walk(get_resolver()):
        module = getattr(entry.callback, "__module__", "")
        if route.startswith(("static/", "admin/")) or module.startswith(("django.contrib.admin", "django.views.static")):
            continue
        found.append((name, route, entry))
    return found


def view_class(entry):
    return getattr(entry.callback, "view_class", None) or getattr(entry.callback, "cls", None)


def test_every_url_has_an_access_rule():
    missing, unnamed = [], []
    for name, route, entry in project_patterns():
        if name is None:
            unnamed.append(route)
        elif name not in EXPECTED:
            missing.append(f"{name} ({route})")
    assert not unnamed, f"URL patterns without a name: {unnamed}"
    assert not missing, f"URLs without an access rule in tests/<app>/access.py: {missing}"


def test_every_rule_names_a_real_url():
    names = {name for name, _, _ in project_patterns()}
    assert set(EXPECTED) <= names, f"Rules for URLs that no longer exist: {sorted(set(EXPECTED) - names)}"


def test_views_declare_exactly_the_expected_methods():
    """A view that accepts a method nobody wrote a rule for is a hole; so is a rule nobody enforces."""
    problems = []
    for name, route, entry in project_patterns():
        cls = view_class(entry)
        if name not in EXPECTED or cls is None:
            if cls is None and name in EXPECTED and name != "home":
                problems.append(f"{name}: function views cannot declare capabilities")
            continue
        for method, capability in EXPECTED[name].items():
            if capability_for(cls, method) != capability:
                problems.append(f"{name} {method}: view declares {capability_for(cls, method)!r}, rule says {capability!r}")
        allowed = {m.upper() for m in getattr(cls, "http_method_names", [])} - {"HEAD", "OPTIONS", "TRACE"}
        implemented = {m for m in allowed if hasattr(cls, m.lower()) or (m in ("GET", "POST") and hasattr(cls, "form_class"))}
        for method in implemented - set(EXPECTED[name]):
            if capability_for(cls, method) is not None:
                problems.append(f"{name} {method}: accepted by the view but has no rule")
    assert not problems, "\n".join(problems)


def _cases():
    cases = []
    for name, rules in sorted(EXPECTED.items()):
        for method in sorted(rules):
            for role in ROLES:
                cases.append(pytest.param(name, method, role, id=f"{name}-{method}-{role}"))
    return cases


@pytest.fixture
def world(users_by_role):
    state = SimpleNamespace(users={role: user for role, user in users_by_role.items()})
    build_world(state)
    return state


@pytest.mark.parametrize("name,method,role", _cases())
def test_access(world, name, method, role):
    capability = EXPECTED[name][method]
    kwargs = SAMPLES[name](world) if name in SAMPLES else {}
    url = reverse(name, kwargs=kwargs)
    is_api = url.startswith("/api/")
    client = APIClient()
    user = world.users.get(role)
    if user is not None:
        client.force_login(user)
    body = {} if method in WRITE_METHODS else None
    response = client.generic(method, url, data="{}" if body is not None else "", content_type="application/json") \
        if is_api else getattr(client, method.lower())(url, data=body or {})

    login_redirect = response.status_code == 302 and response["Location"].startswith("/login/")
    if name in SIGNATURE_AUTHENTICATED:
        # No session grants access here: an unsigned request is 401 for every role.
        assert response.status_code == 401, f"unsigned {method} {url} as {role}: expected 401, got {response.status_code}"
        return
    if capability == PUBLIC:
        allowed = True
    elif role == "anonymous":
        allowed = False
    else:
        allowed = capability in ROLE_CAPABILITIES[role]

    if allowed:
        assert response.status_code not in (401, 403) and not (login_redirect and capability != PUBLIC), \
            f"{role} should reach {method} {url}, got {response.status_code}"
        assert response.status_code < 500, f"{method} {url} as {role} failed with {response.status_code}"
    elif role == "anonymous":
        if is_api:
            assert response.status_code == 401, f"anonymous {method} {url}: expected 401, got {response.status_code}"
            if response["Content-Type"].startswith("application/json"):
                assert response.json()["error"]["code"] == "not_authenticated"
        else:
            assert login_redirect, f"anonymous {method} {url}: expected a login redirect, got {response.status_code}"
    else:
        assert response.status_code == 403, f"{role} {method} {url}: expected 403, got {response.status_code}"
        if is_api and response["Content-Type"].startswith("application/json"):
            assert response.json()["error"]["code"] == "permission_denied"
