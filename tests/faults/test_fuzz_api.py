"""Bad input against every API write endpoint (taken from /api/schema/) and the Paystack webhook:
malformed JSON, wrong types, huge numbers, negative and many-decimal amounts, unknown ids and other
tenants' ids. Always a 4xx in the error shape, and not one row written anywhere."""
from __future__ import annotations

import json
import re

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from billing_ops.access import ROLE_CAPABILITIES, SUPER_ADMIN
from tests.access_rules import EXPECTED, SAMPLES

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("POST", "PUT", "PATCH")
DOMAIN_APPS = ("accounts", "billing", "subscriptions", "invoicing", "payments", "dunning", "usage", "guardian", "authtoken")
EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# --- the endpoints, from the OpenAPI schema -----------------------------------------------------------

def _schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


SCHEMA = None


def schema():
    global SCHEMA
    if SCHEMA is None:
        SCHEMA = _schema()
    return SCHEMA


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        node = schema()["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def operation_for(url: str, method: str) -> dict | None:
    for candidate in (url, url + "/"):  # the no-slash aliases (POST /api/payments) share their view
        for path, ops in schema()["paths"].items():
            if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", path), candidate) and method.lower() in ops:
                return ops[method.lower()]
    return None


def body_fields(operation: dict) -> dict[str, dict]:
    body = operation.get("requestBody")
    if not body:
        return {}
    content = body["content"].get("application/json") or next(iter(body["content"].values()))
    node = _resolve(content["schema"])
    return {name: prop for name, prop in node.get("properties", {}).items() if not prop.get("readOnly")}


def write_endpoints():
    """(url name, method) for every API write the project defines, with the capability it needs."""
    found = []
    for name, rules in sorted(EXPECTED.items()):
        if not name.startswith("api:"):
            continue
        for method in WRITE_METHODS:
            if method in rules:
                found.append((name, method))
    return found


ENDPOINTS = write_endpoints()


# --- bad values by the schema type of a field ----------------------------------------------------------

WRONG_SHAPES = [[1], {"a": 1}, True]
HUGE_INTS = [2**63, 10**30, -(2**63) - 1]
BAD_DECIMALS = ["abc", "NaN", "Infinity", "-Infinity", "1e400", "9" * 40, "1.123456789", 1.5, "", " "]
# Amount-like fields where a negative value is never meaningful (tenant credit adjustments may be negative).
NON_NEGATIVE = {"amount", "base_price", "percent_off", "amount_off", "quantity", "tax_rate", "expected_total", "credit", "price"}


def bad_values(name: str, prop: dict, *, endpoint: str) -> list:
    prop = dict(prop)
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in prop.pop(key, []):
            sub = _resolve(sub)
            if sub.get("enum"):
                prop.setdefault("enum", sub["enum"])
            prop.setdefault("type", sub.get("type"))
            prop.setdefault("format", sub.get("format"))
    prop = {**_resolve(prop), **{k: v for k, v in prop.items() if k != "$ref"}}
    kind, fmt = prop.get("type"), prop.get("format")
    if prop.get("enum"):
        return ["not-a-choice-zz", 12345, *WRONG_SHAPES]
    if kind == "array":
        return ["not a list", 5, {"a": 1}, [None], [[[1]]]]
    if kind == "boolean":
        return ["maybe", 2, [], {}]
    if kind == "integer":
        values = ["abc", 1.5, *HUGE_INTS, *WRONG_SHAPES]
        if name in ("tenant", "plan", "invoice", "base_price_id") or name.endswith("_id"):
            values += [999_999_999, -1, 0]
        elif "minimum" in prop:
            values.append(prop["minimum"] - 1)
        return values
    if kind == "number" or fmt == "decimal":
        values = [*BAD_DECIMALS, *WRONG_SHAPES]
        if name in NON_NEGATIVE and endpoint != "api:tenant-credit":
            values += ["-5.00", "-0.01"]
        return values
    if fmt == "date":
        return ["2026-13-45", "yesterday", 12345, *WRONG_SHAPES]
    if fmt == "date-time":
        return ["not a time", *WRONG_SHAPES]
    if fmt == "email":
        return ["not-an-email", *WRONG_SHAPES]
    return WRONG_SHAPES  # plain strings: DRF accepts numbers for strings, never lists, objects or booleans


def bodies_for(endpoint: str, fields: dict[str, dict]):
    """Bodies that no endpoint may accept: not JSON, not an object, or an object with ≥1 bad field."""
    malformed = st.one_of(
        st.sampled_from([b"{", b"{'a': 1}", b'{"a": 1,}', b"\xff\xfe\x00", b'{"a": NaN}', b"[1, 2", b"nul"]),
        st.binary(min_size=1, max_size=40).filter(lambda raw: not _is_json(raw)),
    ).map(lambda raw: ("raw", raw))
    not_an_object = st.one_of(
        st.lists(st.integers(), max_size=3), st.integers(), st.text(max_size=10), st.none(), st.booleans(),
    ).map(lambda value: ("raw", json.dumps(value).encode()))
    options = [malformed, not_an_object]
    candidates = {name: bad_values(name, prop, endpoint=endpoint) for name, prop in fields.items()}
    if candidates:
        bad_fields = st.dictionaries(
            st.sampled_from(sorted(candidates)), st.just(None), min_size=1, max_size=min(3, len(candidates)),
        ).flatmap(lambda chosen: st.fixed_dictionaries({name: st.sampled_from(candidates[name]) for name in chosen}))
        options.append(bad_fields.map(lambda body: ("json", body)))
        options.append(bad_fields.map(lambda body: ("json", body)))  # weight towards field-level input
    return st.one_of(*options)


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


# --- what "nothing written" means ---------------------------------------------------------------------

def row_counts() -> dict[str, int]:
    tables = sorted({m._meta.db_table for m in apps.get_models() if m._meta.app_label in DOMAIN_APPS and m._meta.managed})
    sql = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {connection.ops.quote_name(t)}" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def assert_error_shape(response, context):
    assert 400 <= response.status_code < 500, f"{context}: {response.status_code} {response.content[:300]!r}"
    assert response["Content-Type"].startswith("application/json"), f"{context}: {response['Content-Type']}"
    error = response.json().get("error")
    assert isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str) \
        and isinstance(error.get("fields"), dict), f"{context}: not the error shape: {response.content[:300]!r}"


def _send(client, method, url, body):
    kind, payload = body
    raw = payload if kind == "raw" else json.dumps(payload).encode()
    return client.generic(method, url, data=raw, content_type="application/json"), raw


def _user_for(world, capability):
    if capability in ROLE_CAPABILITIES["billing"]:
        return world.users["billing"]
    return world.users[SUPER_ADMIN]


# --- the tests ---------------------------------------------------------------------------------------

def test_every_write_endpoint_is_in_the_schema_and_fuzzed(world):
    missing = []
    for name, method in ENDPOINTS:
        url = reverse(name, kwargs=SAMPLES[name](world) if name in SAMPLES else {})
        if operation_for(url, method) is None:
            missing.append(f"{method} {name} ({url})")
    assert len(ENDPOINTS) >= 25
    assert not missing, f"write endpoints missing from /api/schema/: {missing}"


def _all_rejected_batch(name, response) -> bool:
    """The usage batch endpoint answers 200 with per-item results (its documented contract); a batch
    whose every item was refused is still a refusal."""
    if name != "api:usage-events" or response.status_code != 200:
        return False
    body = response.json()
    return body.get("created") == 0 and body.get("rejected") == body.get("received") and \
        all(item.get("status", 500) // 100 == 4 and "error" in item for item in body.get("results", []))


def test_bad_input_is_a_4xx_in_the_error_shape_and_writes_nothing(world):
    """Every write endpoint in turn (one world, so it stays fast), a bounded number of examples each."""
    failures = []
    before = row_counts()
    for name, method in ENDPOINTS:
        url = reverse(name, kwargs=SAMPLES[name](world) if name in SAMPLES else {})
        client = APIClient()
        client.force_authenticate(_user_for(world, EXPECTED[name][method]))
        try:
            _fuzz(client, name, method, url, before)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
        except Exception as exc:
            failures.append(f"{method} {url}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


def _fuzz(client, name, method, url, before):
    @EXAMPLES
    @given(body=bodies_for(name, body_fields(operation_for(url, method))))
    def check(body):
        response, raw = _send(client, method, url, body)
        if not _all_rejected_batch(name, response):
            assert_error_shape(response, f"{method} {url} {raw[:200]!r}")
        after = row_counts()
        assert after == before, f"{method} {url} {raw[:200]!r} wrote rows: " \
            f"{ {t: after[t] - before[t] for t in after if after[t] != before[t]} }"

    check()


@pytest.mark.parametrize("name,method", [e for e in ENDPOINTS if e[0] in SAMPLES], ids=lambda v: v)
def test_unknown_ids_in_the_url_are_404_in_the_error_shape(world, name, method):
    kwargs = SAMPLES[name](world)
    client = APIClient()
    client.force_authenticate(_user_for(world, EXPECTED[name][method]))
    before = row_counts()
    for unknown in (999_999_999, 2**63):
        url = reverse(name, kwargs={key: _unknown(value, unknown) for key, value in kwargs.items()})
        response = client.generic(method, url, data="{}", content_type="application/json")
        assert response.status_code == 404, f"{method} {url}: {response.status_code} {response.content[:200]!r}"
        assert_error_shape(response, f"{method} {url}")
    assert row_counts() == before


def _unknown(value, number):
    import uuid

    if isinstance(value, uuid.UUID) or re.fullmatch(r"[0-9a-f-]{36}", str(value)):
        return uuid.uuid4()
    return number


def test_onboarding_user_cannot_write_or_reach_other_tenants(world):
    """Onboarding staff hold no write capability (403 everywhere) and manage only their assigned
    tenants' subscriptions: another tenant's id in the URL is a 404, whatever the body says."""
    from tests.factories import SubscriptionFactory, TenantFactory

    other = TenantFactory(name="Not assigned to onboarding")
    other_subscription = SubscriptionFactory(tenant=other)
    client = APIClient()
    client.force_authenticate(world.users["onboarding"])
    body = {"plan": other_subscription.plan_id, "tenant": other.pk, "invoice": world.invoice.pk, "amount": "1.00",
            "reason": "fuzz", "items": [], "remove": [], "expected_total": "0.00"}
    before = row_counts()
    problems = []
    for name, method in ENDPOINTS:
        capability = EXPECTED[name][method]
        kwargs = SAMPLES[name](world) if name in SAMPLES else {}
        if capability in ROLE_CAPABILITIES["onboarding"]:
            kwargs = {key: other.pk for key in kwargs}  # the tenant-scoped subscription endpoints
            expected = 404
        else:
            expected = 403
        url = reverse(name, kwargs=kwargs)
        response = client.generic(method, url, data=json.dumps(body), content_type="application/json")
        if response.status_code != expected:
            problems.append(f"{method} {url}: {response.status_code}, expected {expected}")
            continue
        assert_error_shape(response, f"{method} {url}")
    assert not problems, problems
    assert row_counts() == before
