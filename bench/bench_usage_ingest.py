#!/usr/bin/env python
"""Benchmark: usage events per second into PostgreSQL through POST /api/usage-events (batches).

Starts gunicorn on the real WSGI app against a PostgreSQL database of its own, authenticates
as a usage client with an API token (as integrators do), and sends batches of 1,000 events from
several client processes. Prints the figures and writes them as JSON.

    .venv/bin/python bench/bench_usage_ingest.py                       # defaults below
    .venv/bin/python bench/bench_usage_ingest.py --events 100000 --clients 4 --workers 2

Target (issue 8): 5,000 events/s sustained.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bo_usage_bench"
TARGET = 5000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _prepare(tenants: int) -> dict:
    """Migrate, then create tenants with live subscriptions, a meter and a usage client token."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from decimal import Decimal

    from django.utils import timezone

    from accounts.models import Tenant
    from billing_ops.actors import system
    from subscriptions.models import Plan, Price, Product, Subscription, SubscriptionItem
    from subscriptions.usage import usage_client_create
    from subscriptions.usage_models import Meter, UsageEvent

    today = timezone.now().date()
    start = today.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    product, _ = Product.objects.get_or_create(name="Bench product")
    base = Price.objects.create(product=product, currency="NGN", pricing_model="flat", unit_amount=Decimal("100.00"))
    metered = Price.objects.create(product=product, currency="NGN", pricing_model="per_unit", unit_amount=Decimal("0.01"))
    plan = Plan.objects.create(name="Bench", code=f"bench-{time.time_ns()}", currency="NGN", base_price=base)
    meter, _ = Meter.objects.get_or_create(code="bench-calls", currency="NGN",
                                           defaults={"name": "Bench calls", "unit": "calls", "price": metered})
    subs = []
    for i in range(tenants):
        tenant = Tenant.objects.create(name=f"Bench tenant {i}", billing_email=f"bench{i}@example.com", country="NG", currency="NGN")
        sub = Subscription.objects.create(tenant=tenant, plan=plan, currency="NGN", billing_anchor=start,
                                          current_period_start=start, current_period_end=end)
        SubscriptionItem.objects.create(subscription=sub, price=base)
        subs.append(sub.pk)
    _, token = usage_client_create(actor=system("bench"), name="bench")
    before = UsageEvent.objects.count()
    from django.db import connections

    connections.close_all()
    return {"subscriptions": subs, "token": token, "meter": meter.code, "before": before}


def _client(args) -> tuple[int, int, float, list[float]]:
    """One client process: send ``batches`` batches; returns (created, rejected, seconds, latencies)."""
    port, token, meter, subs, batches, size, run_id, client_no = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    now = dt.datetime.now(dt.UTC)
    created = rejected = 0
    latencies = []
    began = time.perf_counter()
    for b in range(batches):
        events = [
            {
                "subscription": subs[(b * size + i) % len(subs)],
                "meter": meter,
                "value": (i % 7) + 1,
                "properties": {"region": "eu" if i % 2 else "af", "user_id": f"u{i % 97}"},
                "timestamp": (now - dt.timedelta(seconds=i % 3600)).isoformat(),
                "idempotency_key": f"{run_id}-{client_no}-{b}-{i}",
            }
            for i in range(size)
        ]
        body = json.dumps({"events": events})
        t0 = time.perf_counter()
        conn.request("POST", "/api/usage-events", body=body, headers=headers)
        response = conn.getresponse()
        data = json.loads(response.read())
        latencies.append(time.perf_counter() - t0)
        if response.status != 200:
            raise SystemExit(f"batch failed: {response.status} {data}")
        created += data["created"]
        rejected += data["rejected"]
    return created, rejected, time.perf_counter() - began, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events to send in total")
    parser.add_argument("--batch", type=int, default=1000, help="events per request (max 1000)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2), help="gunicorn workers")
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "bench_usage_ingest.json"))
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or DEFAULT_DB
    if not url.startswith("postgres"):
        raise SystemExit("This benchmark measures PostgreSQL: set DATABASE_URL=postgres://…")
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="billing_ops.settings", DEBUG="false")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-0123456789-0123456789")
    sys.path.insert(0, str(ROOT))
    _ensure_database(url)
    prepared = _prepare(args.tenants)

    port = _free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(
        [str(gunicorn), "billing_ops.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
         "--log-level", "warning", "--timeout", "120"],
        cwd=ROOT, env=os.environ.copy(),
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        run_id = f"r{time.time_ns()}"
        # Warm-up: every worker loads the app and opens its database connection.
        _client((port, prepared["token"], prepared["meter"], prepared["subscriptions"], args.workers, 10, run_id + "w", 0))

        batches = max(1, args.events // (args.batch * args.clients))
        jobs = [(port, prepared["token"], prepared["meter"], prepared["subscriptions"], batches, args.batch, run_id, c)
                for c in range(args.clients)]
        began = time.perf_counter()
        with multiprocessing.Pool(args.clients) as pool:
            outcomes = pool.map(_client, jobs)
        elapsed = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(timeout=30)

    created = sum(o[0] for o in outcomes)
    rejected = sum(o[1] for o in outcomes)
    latencies = sorted(lat for o in outcomes for lat in o[3])
    import django

    django.setup()
    from subscriptions.usage_models import UsageEvent

    stored = UsageEvent.objects.filter(idempotency_key__startswith=run_id + "-").count()
    rate = created / elapsed if elapsed else 0.0
    result = {
        "benchmark": "usage events via POST /api/usage-events (batch), PostgreSQL",
        "events_sent": created + rejected,
        "events_created": created,
        "events_rejected": rejected,
        "events_stored_in_db": stored,
        "batch_size": args.batch,
        "client_processes": args.clients,
        "gunicorn_workers": args.workers,
        "seconds": round(elapsed, 3),
        "events_per_second": round(rate, 1),
        "batch_latency_ms": {
            "p50": round(latencies[len(latencies) // 2] * 1000, 1),
            "p95": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
            "max": round(latencies[-1] * 1000, 1),
        },
        "target_events_per_second": TARGET,
        "meets_target": rate >= TARGET,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_1m_at_end": round(os.getloadavg()[0], 2)},
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{created:,} events in {elapsed:.2f} s = {rate:,.0f} events/s "
          f"(target {TARGET:,}: {'met' if rate >= TARGET else 'NOT met'}); "
          f"batch p50 {result['batch_latency_ms']['p50']} ms, p95 {result['batch_latency_ms']['p95']} ms; "
          f"stored {stored:,}; load average {os.getloadavg()[0]:.1f}; written {args.output}")
    if stored != created:
        raise SystemExit("stored events differ from created events")


if __name__ == "__main__":
    main()
