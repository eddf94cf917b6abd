"""Usage-based billing: meters, event ingestion, aggregation per period, and usage invoice lines.

Guarantees:

- ``usage_events_record`` stores each event at most once per (tenant, idempotency key), by the
  unique constraint and ``INSERT … ON CONFLICT DO NOTHING`` (bulk, one statement per batch); a bad
  item is refused with its own error and never rejects the good items of its batch.
- ``meter_usage`` aggregates one meter for one subscription and period in ONE query (SUM, MAX,
  LAST, AVERAGE, or COUNT_DISTINCT of a JSON property), on SQLite and PostgreSQL alike; no Python
  loop ever walks the events.
- ``usage_lines_for_period`` returns engine-ready line dicts (``invoicing.amounts.LineInput(**d)``)
  priced by each meter's price and its pricing model (``subscriptions.pricing``).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Avg, Count, Max, OuterRef, Q, Subquery, Sum
from django.db.models.fields.json import KT
from django.utils import timezone

from accounts import audit
from billing_ops.access import INGEST_USAGE, WRITE, require_capability, scope_to_user
from billing_ops.errors import NotFound, ValidationFailed
from billing_ops.money import ZERO, quantize
from subscriptions.models import Price, Subscription, SubscriptionStatus
from subscriptions.usage_models import (
    USAGE_VALUE_DECIMAL_PLACES,
    Meter,
    MeterAggregation,
    UsageEvent,
)

MAX_BATCH = 1000
# Statuses whose subscriptions accept usage: the service is being used and will be invoiced.
USAGE_STATUSES = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
# A client clock may run a little ahead of ours; beyond this an event "from the future" is refused.
CLOCK_SKEW = dt.timedelta(minutes=5)
VALUE_QUANTUM = Decimal(1).scaleb(-USAGE_VALUE_DECIMAL_PLACES)
_PROPERTY_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_VALUE = Decimal("1e17")


# --- meters ---------------------------------------------------------------------------------


METER_FIELDS = ["code", "name", "unit", "aggregation", "property", "price_id", "currency", "active"]


def _validate_meter(*, code: str, aggregation: str, property: str, price: Price) -> None:
    fields: dict[str, list[str]] = {}
    if aggregation not in MeterAggregation.values:
        fields["aggregation"] = [f"Use one of {', '.join(MeterAggregation.values)}."]
    if aggregation == MeterAggregation.COUNT_DISTINCT and not property:
        fields["property"] = ["COUNT_DISTINCT needs the event property to count (e.g. user_id)."]
    if property and ("__" in property or not _PROPERTY_RE.match(property)):
        fields["property"] = ["Letters, digits, '-' and single '_' only (up to 64)."]
    if not re.match(r"^[-a-zA-Z0-9_]+$", code or ""):
        fields["code"] = ["Letters, digits, '-' and '_' only."]
    if fields:
        raise ValidationFailed("The meter is not valid.", fields=fields)


def meter_create(
    *, actor, code: str, name: str, unit: str, aggregation: str, price: Price, property: str = "", active: bool = True
) -> Meter:
    """Create a meter priced by ``price``; its code is unique per currency."""
    require_capability(actor, WRITE)
    _validate_meter(code=code, aggregation=aggregation, property=property, price=price)
    with transaction.atomic():
        if Meter.objects.filter(code=code, currency=price.currency).exists():
            raise ValidationFailed(
                f"A meter {code!r} already exists in {price.currency}.", code="duplicate", fields={"code": ["Already used in this currency."]}
            )
        meter = Meter.objects.create(
            code=code, name=name, unit=unit, aggregation=aggregation, property=property or "",
            price=price, currency=price.currency, active=active,
        )
        audit.record(actor=actor, action="meter.created", obj=meter, after=audit.snapshot(meter, METER_FIELDS))
    return meter


def meter_update(*, actor, meter: Meter, **changes) -> Meter:
    """Change a meter's name, unit, aggregation, property, price or active flag (code and currency stay)."""
    require_capability(actor, WRITE)
    allowed = {"name", "unit", "aggregation", "property", "price", "active"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(f"Cannot change {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        meter = Meter.objects.select_for_update().get(pk=meter.pk)
        before = audit.snapshot(meter, METER_FIELDS)
        for field, value in changes.items():
            setattr(meter, field, value)
        if meter.price.currency != meter.currency:
            raise ValidationFailed(
                f"The price must be in {meter.currency}, the meter's currency.", fields={"price": ["Wrong currency."]}
            )
        _validate_meter(code=meter.code, aggregation=meter.aggregation, property=meter.property, price=meter.price)
        meter.save()
        audit.record(actor=actor, action="meter.updated", obj=meter, before=before, after=audit.snapshot(meter, METER_FIELDS))
    return meter


def meter_list(*, user):
    return Meter.objects.select_related("price", "price__product")


def meter_get(*, user, pk) -> Meter:
    try:
        return meter_list(user=user).get(pk=pk)
    except (Meter.DoesNotExist, ValueError):
        raise NotFound("No such meter.") from None


# --- ingestion ------------------------------------------------------------------------------


@dataclass
class ItemResult:
    index: int
    idempotency_key: str | None
    status: int  # 201 created, 200 duplicate, 4xx refused
    result: str  # created | duplicate | rejected
    error: dict | None = None
    id: int | None = None  # of the stored event, when created

    def as_dict(self) -> dict:
        data = {"index": self.index, "idempotency_key": self.idempotency_key, "status": self.status, "result": self.result}
        if self.error:
            data["error"] = self.error
        return data


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def _parse_timestamp(raw, now):
    if raw in (None, ""):
        return now
    if not isinstance(raw, str):
        raise _Refused(400, "invalid", "timestamp must be an ISO 8601 string.", {"timestamp": ["Not a date-time."]})
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        raise _Refused(400, "invalid", "timestamp must be an ISO 8601 date-time.", {"timestamp": ["Not a date-time."]}) from None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value


def _parse_value(raw) -> Decimal:
    if raw is None:
        return Decimal(1)
    if isinstance(raw, bool):
        raise _Refused(400, "invalid", "value must be a number.", {"value": ["Not a number."]})
    try:
        value = Decimal(str(raw)) if isinstance(raw, (int, float, str)) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise _Refused(400, "invalid", "value must be a number.", {"value": ["Not a number."]})
    if value < 0:
        raise _Refused(400, "invalid", "value must not be negative.", {"value": ["Must be >= 0."]})
    if value >= MAX_VALUE:
        raise _Refused(400, "invalid", "value is too large.", {"value": ["Too large."]})
    return value.quantize(VALUE_QUANTUM)


def _as_id(raw, field):
    if raw is None or isinstance(raw, bool):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise _Refused(400, "invalid", f"{field} must be an id.", {field: ["Not an id."]}) from None


def _period_bounds(subscription) -> tuple[dt.datetime, dt.datetime]:
    return day_start(subscription.current_period_start), day_start(subscription.current_period_end)


def day_start(day: dt.date) -> dt.datetime:
    """Midnight UTC at the start of ``day``: periods are whole UTC days, end exclusive."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def usage_events_record(*, actor, items: list, now: dt.datetime | None = None) -> list[ItemResult]:
    """Validate and store a batch of usage events (at most ``MAX_BATCH``); one result per item.

    Lookups are batched (meters, subscriptions, tenants' subscriptions, existing keys: one query
    each) and the good items are inserted by one ``INSERT … ON CONFLICT DO NOTHING``, so a retry
    or a concurrent duplicate is stored once.
    """
    require_capability(actor, INGEST_USAGE)
    if len(items) > MAX_BATCH:
        raise ValidationFailed(f"A batch holds at most {MAX_BATCH} events (got {len(items)}).", code="batch_too_large")
    now = now or timezone.now()
    results: list[ItemResult] = []
    parsed: list[tuple[int, dict]] = []
    sub_ids, tenant_ids, codes = set(), set(), set()

    for index, item in enumerate(items):
        key = item.get("idempotency_key") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict):
                raise _Refused(400, "invalid", "Each event must be a JSON object.")
            if not isinstance(key, str) or not key.strip() or len(key) > 255:
                raise _Refused(400, "invalid", "idempotency_key is required (a string of up to 255 characters).",
                               {"idempotency_key": ["Required, up to 255 characters."]})
            meter_code = item.get("meter")
            if not isinstance(meter_code, str) or not meter_code:
                raise _Refused(400, "invalid", "meter (a meter code) is required.", {"meter": ["Required."]})
            sub_id = _as_id(item.get("subscription"), "subscription")
            tenant_id = _as_id(item.get("tenant"), "tenant")
            if sub_id is None and tenant_id is None:
                raise _Refused(400, "invalid", "Name the subscription or the tenant.", {"subscription": ["Required unless tenant is given."]})
            properties = item.get("properties") or {}
            if not isinstance(properties, dict):
                raise _Refused(400, "invalid", "properties must be a JSON object.", {"properties": ["Not an object."]})
            data = {
                "key": key, "meter": meter_code, "subscription": sub_id, "tenant": tenant_id,
                "value": _parse_value(item.get("value")), "properties": properties,
                "timestamp": _parse_timestamp(item.get("timestamp"), now),
            }
        except _Refused as refused:
            results.append(_rejected(index, key if isinstance(key, str) else None, refused))
            continue
        if sub_id is not None:
            sub_ids.add(sub_id)
        else:
            tenant_ids.add(tenant_id)
        codes.add(meter_code)
        parsed.append((index, data))
        results.append(None)  # filled below

    subscriptions = {}
    if sub_ids:
        qs = scope_to_user(Subscription.objects.filter(pk__in=sub_ids), actor)
        subscriptions = {s.pk: s for s in qs.only("id", "tenant_id", "status", "currency", "current_period_start", "current_period_end")}
    by_tenant: dict[int, list] = {}
    if tenant_ids:
        qs = scope_to_user(Subscription.objects.filter(tenant_id__in=tenant_ids, status__in=USAGE_STATUSES), actor)
        for s in qs.only("id", "tenant_id", "status", "currency", "current_period_start", "current_period_end"):
            by_tenant.setdefault(s.tenant_id, []).append(s)
    meters = {(m.code, m.currency): m for m in Meter.objects.filter(code__in=codes, active=True).only("id", "code", "currency")}

    accepted: list[tuple[int, dict, Subscription, Meter]] = []
    bounds: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    for index, data in parsed:
        try:
            subscription = _resolve_subscription(data, subscriptions, by_tenant, meters)
            meter = meters.get((data["meter"], subscription.currency))
            if meter is None:
                raise _Refused(404, "unknown_meter", f"No active meter {data['meter']!r} in {subscription.currency}.",
                               {"meter": ["Unknown meter."]})
            if subscription.status not in USAGE_STATUSES:
                raise _Refused(409, "subscription_not_active",
                               f"Subscription {subscription.pk} is {subscription.status}; it takes no usage.")
            if subscription.pk not in bounds:
                bounds[subscription.pk] = _period_bounds(subscription)
            start, end = bounds[subscription.pk]
            if not start <= data["timestamp"] < end:
                raise _Refused(400, "outside_period",
                               f"timestamp is outside the current period {subscription.current_period_start} → "
                               f"{subscription.current_period_end} (end exclusive).",
                               {"timestamp": ["Outside the current billing period."]})
            if data["timestamp"] > now + CLOCK_SKEW:
                raise _Refused(400, "in_future", "timestamp is in the future.", {"timestamp": ["In the future."]})
        except _Refused as refused:
            results[index] = _rejected(index, data["key"], refused)
            continue
        accepted.append((index, data, subscription, meter))

    # Keys already stored (a retry) or repeated within this batch are duplicates: stored once.
    # Repeats of a key inside the batch are duplicates of its first occurrence.
    seen: set[tuple[int, str]] = set()
    rows: list[tuple[int, dict]] = []
    for index, data, subscription, meter in accepted:
        marker = (subscription.tenant_id, data["key"])
        if marker in seen:
            results[index] = ItemResult(index, data["key"], 200, "duplicate")
            continue
        seen.add(marker)
        rows.append((index, {
            "tenant_id": subscription.tenant_id, "subscription_id": subscription.pk, "meter_id": meter.pk,
            "value": data["value"], "properties": data["properties"], "timestamp": data["timestamp"],
            "idempotency_key": data["key"], "received_at": now,
        }))
    if rows:
        inserted = _insert_events([row for _, row in rows])
        for index, row in rows:
            pk = inserted.get((row["tenant_id"], row["idempotency_key"]))
            if pk is None:  # stored before (a retry) or by a concurrent request
                results[index] = ItemResult(index, row["idempotency_key"], 200, "duplicate")
            else:
                results[index] = ItemResult(index, row["idempotency_key"], 201, "created", id=pk)
    return results


_PG_INSERT = """
INSERT INTO {table} (tenant_id, subscription_id, meter_id, value, properties, timestamp, idempotency_key, received_at)
SELECT r.tenant_id, r.subscription_id, r.meter_id, r.value, r.properties, r.timestamp, r.idempotency_key, r.received_at
FROM jsonb_to_recordset(%s::jsonb) AS r(tenant_id bigint, subscription_id bigint, meter_id bigint, value numeric,
     properties jsonb, timestamp timestamptz, idempotency_key varchar, received_at timestamptz)
ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
RETURNING id, tenant_id, idempotency_key
"""


def _insert_events(rows: list[dict]) -> dict[tuple[int, str], int]:
    """Insert, skipping keys already stored; returns {(tenant id, key): new id} of the rows inserted.

    PostgreSQL: one ``INSERT … SELECT FROM jsonb_to_recordset(%s) ON CONFLICT DO NOTHING RETURNING``
    — the batch travels as one JSON parameter (no per-value adaptation, no model instances), and
    RETURNING says exactly which rows were new, even when another request stores the same keys at
    the same moment. Elsewhere (SQLite): look the keys up, then ``bulk_create(ignore_conflicts=True)``.
    """
    import json

    from django.db import connection

    if connection.vendor == "postgresql":
        payload = json.dumps([
            {**row, "value": str(row["value"]), "timestamp": row["timestamp"].isoformat(),
             "received_at": row["received_at"].isoformat()}
            for row in rows
        ])
        with connection.cursor() as cursor:
            cursor.execute(_PG_INSERT.format(table=connection.ops.quote_name(UsageEvent._meta.db_table)), [payload])
            return {(tenant_id, key): pk for pk, tenant_id, key in cursor.fetchall()}
    with transaction.atomic():
        tenants = {row["tenant_id"] for row in rows}
        keys = {row["idempotency_key"] for row in rows}
        existing = set(
            UsageEvent.objects.filter(tenant_id__in=tenants, idempotency_key__in=keys).values_list("tenant_id", "idempotency_key")
        )
        fresh = [UsageEvent(**row) for row in rows if (row["tenant_id"], row["idempotency_key"]) not in existing]
        UsageEvent.objects.bulk_create(fresh, ignore_conflicts=True)
        stored = UsageEvent.objects.filter(
            tenant_id__in=tenants, idempotency_key__in=[e.idempotency_key for e in fresh]
        ).values_list("tenant_id", "idempotency_key", "id")
        return {(t, k): pk for t, k, pk in stored}


def _resolve_subscription(data, subscriptions, by_tenant, meters) -> Subscription:
    if data["subscription"] is not None:
        subscription = subscriptions.get(data["subscription"])
        if subscription is None or (data["tenant"] is not None and subscription.tenant_id != data["tenant"]):
            raise _Refused(404, "unknown_subscription", f"No subscription {data['subscription']}.", {"subscription": ["Unknown."]})
        return subscription
    candidates = by_tenant.get(data["tenant"], [])
    if len(candidates) > 1:  # several live subscriptions: the one in the meter's currency, if that decides
        candidates = [s for s in candidates if (data["meter"], s.currency) in meters]
    if not candidates:
        raise _Refused(404, "unknown_subscription", f"Tenant {data['tenant']} has no subscription that takes usage.",
                       {"tenant": ["No live subscription."]})
    if len(candidates) > 1:
        raise _Refused(409, "ambiguous_subscription", f"Tenant {data['tenant']} has several live subscriptions; name one.",
                       {"subscription": ["Required for this tenant."]})
    return candidates[0]


def _rejected(index, key, refused: _Refused) -> ItemResult:
    error = {"code": refused.code, "message": refused.message, "fields": refused.fields}
    return ItemResult(index, key, refused.status, "rejected", error=error)


# --- aggregation ----------------------------------------------------------------------------


def _value_expression(meter: Meter, *, correlated_to_subscription: bool, base_filter: Q):
    """The aggregate that turns the selected events into the meter's quantity (one SQL expression)."""
    kind = meter.aggregation
    if kind == MeterAggregation.SUM:
        return Sum("value")
    if kind == MeterAggregation.MAX:
        return Max("value")
    if kind == MeterAggregation.AVERAGE:
        return Avg("value")
    if kind == MeterAggregation.COUNT_DISTINCT:
        return Count(KT(f"properties__{meter.property}"), distinct=True)
    # LAST: the value of the latest event (ties by id), picked inside the same statement.
    latest = UsageEvent.objects.filter(base_filter)
    if correlated_to_subscription:
        latest = latest.filter(subscription_id=OuterRef("subscription_id"))
    latest = latest.order_by("-timestamp", "-id").values("pk")[:1]
    return Max("value", filter=Q(pk=Subquery(latest)))


def _clean(value) -> Decimal:
    if value is None:
        return ZERO.quantize(VALUE_QUANTUM)
    return Decimal(str(value)).quantize(VALUE_QUANTUM)


def meter_usage(*, meter: Meter, subscription, start: dt.datetime, end: dt.datetime) -> tuple[Decimal, int]:
    """(quantity, number of events) of ``meter`` for ``subscription`` over ``[start, end)``: ONE query."""
    where = Q(subscription_id=subscription.pk, meter_id=meter.pk, timestamp__gte=start, timestamp__lt=end)
    row = UsageEvent.objects.filter(where).aggregate(
        quantity=_value_expression(meter, correlated_to_subscription=False, base_filter=where), events=Count("id")
    )
    return _clean(row["quantity"]), row["events"]


def meter_usage_by_subscription(*, meter: Meter, start: dt.datetime, end: dt.datetime) -> dict[int, tuple[Decimal, int]]:
    """{subscription id: (quantity, events)} of ``meter`` over ``[start, end)`` for every subscription: ONE query."""
    where = Q(meter_id=meter.pk, timestamp__gte=start, timestamp__lt=end)
    rows = (
        UsageEvent.objects.filter(where)
        .order_by()
        .values("subscription_id")
        .annotate(quantity=_value_expression(meter, correlated_to_subscription=True, base_filter=where), events=Count("id"))
    )
    return {row["subscription_id"]: (_clean(row["quantity"]), row["events"]) for row in rows}


@dataclass(frozen=True)
class MeterUsage:
    meter: Meter
    quantity: Decimal
    events: int
    amount: Decimal


def meters_for(subscription) -> list[Meter]:
    """The meters that can bill ``subscription``: active ones in its currency."""
    return list(Meter.objects.filter(currency=subscription.currency, active=True).select_related("price"))


def price_usage(meter: Meter, quantity: Decimal) -> Decimal:
    from subscriptions.pricing import Tier, price_for_quantity

    price = meter.price
    tiers = [Tier.from_dict(t) for t in price.tiers] if price.tiers else None
    return price_for_quantity(
        model=price.pricing_model, quantity=quantity, currency=price.currency,
        unit_amount=price.unit_amount, tiers=tiers, package_size=price.package_size,
    )


def usage_for_period(*, subscription, period_start: dt.date, period_end: dt.date) -> list[MeterUsage]:
    """Each meter's quantity and price for ``subscription`` over ``[period_start, period_end)``.

    One query for the meters, then one per meter.
    """
    start, end = day_start(period_start), day_start(period_end)
    usage = []
    for meter in meters_for(subscription):
        quantity, events = meter_usage(meter=meter, subscription=subscription, start=start, end=end)
        usage.append(MeterUsage(meter=meter, quantity=quantity, events=events, amount=price_usage(meter, quantity)))
    return usage


def _fmt_quantity(quantity: Decimal) -> str:
    text = f"{quantity.normalize():f}"
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}" + (f".{frac}" if frac else "")


def _line_for(usage: MeterUsage, *, period_start: dt.date, period_end: dt.date) -> dict:
    meter, price = usage.meter, usage.meter.price
    last_day = period_end - dt.timedelta(days=1)
    description = f"{meter.name}: {_fmt_quantity(usage.quantity)} {meter.unit} ({period_start:%Y-%m-%d} – {last_day:%Y-%m-%d})"
    unit_amount = price.unit_amount
    simple = (
        price.pricing_model == "per_unit"
        and unit_amount is not None
        and unit_amount == quantize(unit_amount, price.currency)
        and usage.quantity == usage.quantity.quantize(Decimal("0.0001"))
    )
    if simple:  # quantity × unit price is exactly what the price charges, and fits the line's columns
        quantity, unit_price = usage.quantity.quantize(Decimal("0.0001")), unit_amount
    else:  # tiered / volume / package / sub-cent prices: one line carrying the priced amount
        quantity, unit_price = Decimal("1"), usage.amount
    return {
        "description": description[:255],
        "quantity": quantity,
        "unit_price": unit_price,
        "tax_rate": price.tax_rate,
        "kind": "usage",
    }


def usage_lines_for_period(*, subscription, period_start: dt.date, period_end: dt.date) -> list[dict]:
    """Engine-ready invoice lines for the usage of ``subscription`` over ``[period_start, period_end)``.

    Each dict has exactly ``description, quantity, unit_price, tax_rate, kind="usage"`` (so
    ``invoicing.amounts.LineInput(**line)`` works); a meter with no usage and no charge adds no line.
    """
    lines = []
    for usage in usage_for_period(subscription=subscription, period_start=period_start, period_end=period_end):
        if usage.quantity == 0 and usage.amount == 0:
            continue
        lines.append(_line_for(usage, period_start=period_start, period_end=period_end))
    return lines


def usage_summary(*, subscription, today: dt.date | None = None) -> dict:
    """The current period's usage so far and what it would invoice if the period closed now."""
    from invoicing.amounts import LineInput, compute_invoice

    start, end = subscription.current_period_start, subscription.current_period_end
    usage = usage_for_period(subscription=subscription, period_start=start, period_end=end)
    lines = [
        _line_for(u, period_start=start, period_end=end) for u in usage if not (u.quantity == 0 and u.amount == 0)
    ]
    preview = compute_invoice(currency=subscription.currency, lines=[LineInput(**line) for line in lines])
    return {"subscription": subscription, "currency": subscription.currency, "period_start": start,
            "period_end": end, "usage": usage, "preview": preview}


def subscription_for_usage(*, user, pk) -> Subscription:
    try:
        return scope_to_user(Subscription.objects.select_related("tenant", "plan"), user).get(pk=pk)
    except (Subscription.DoesNotExist, ValueError):
        raise NotFound("No such subscription.") from None


# --- machine clients ------------------------------------------------------------------------


def usage_client_create(*, actor, name: str):
    """A login-less user in the usage-client group with an API token; returns (user, token key).

    Calling it again for the same name rotates the token.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from billing_ops.access import CONFIGURE_PAYMENTS, USAGE_CLIENT_GROUP

    require_capability(actor, CONFIGURE_PAYMENTS)  # handing out machine credentials is a super-admin act
    username = f"usage-client-{name}"
    with transaction.atomic():
        user, created = get_user_model().objects.get_or_create(username=username, defaults={"email": ""})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=USAGE_CLIENT_GROUP))
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        audit.record(actor=actor, action="usage_client.token_issued", object_type="auth.user", object_id=user.pk,
                     after={"username": username})
    return user, token.key


def previous_period(subscription) -> tuple[dt.date, dt.date] | None:
    """The period before the current one (None in the first period)."""
    from subscriptions.periods import PeriodError, period_containing

    day_before = subscription.current_period_start - dt.timedelta(days=1)
    try:
        return period_containing(anchor=subscription.billing_anchor, interval=subscription.plan.interval,
                                 cycle=subscription.plan.billing_cycle, on=day_before)
    except PeriodError:
        return None


def usage_lines_for_previous_period(*, subscription) -> tuple[list[dict], tuple[dt.date, dt.date] | None]:
    """Usage is billed in arrears: the lines of the period that just closed, for the invoice that
    opens the current period (``([], None)`` in the first period). Returns (lines, (start, end))."""
    period = previous_period(subscription)
    if period is None:
        return [], None
    return usage_lines_for_period(subscription=subscription, period_start=period[0], period_end=period[1]), period
