"""Benchmark: list screens over a big book (1,000,000 invoices, 100,000 tenants).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench .venv/bin/python -m bench.bench_lists

For /billing/invoices/, /billing/subscriptions/, /billing/payments/ and /billing/dunning/ it times,
with django.test.Client logged in as a super_admin (in-process: no network, full middleware,
template rendering included), the first page, a filtered page and a deep page (the keyset cursor
followed --depth pages down), each --repeat times after a warm-up, and counts the queries each
page runs. Target: p95 < 150 ms for every page at a fixed small number of queries.
Needs the book made by `python -m bench.generate --tenants 100000 --invoices 1000000 --reset`.
"""
from __future__ import annotations

import argparse
import os
import re
import time

from bench.common import bench_admin, scalar, setup_django, summarise_ms, write_results

TARGET_P95_MS = 150
NEXT_LINK = re.compile(r'href="\?([^"]*cursor=[^"]+)">Next')


def screens() -> list[tuple[str, str, str]]:
    """(screen, path, filter query) for each list."""
    tenant = scalar("SELECT tenant_id FROM invoicing_invoice ORDER BY id LIMIT 1 OFFSET 5000")
    plan = scalar("SELECT id FROM subscriptions_plan WHERE code = 'bench-ghs'")
    return [
        ("invoices", "/billing/invoices/", "status=overdue&currency=NGN"),
        ("invoices_by_tenant", "/billing/invoices/", f"tenant={tenant}"),
        ("subscriptions", "/billing/subscriptions/", f"status=active&plan={plan}"),
        ("payments", "/billing/payments/", "status=succeeded&currency=NGN"),
        ("dunning", "/billing/dunning/", "currency=NGN"),
    ]


def _get(client, url: str):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {url} -> {response.status_code}")
    db = sum(float(q["time"]) for q in queries.captured_queries)
    return elapsed, len(queries), response.content.decode(), db


def _next_url(path: str, html: str) -> str | None:
    match = NEXT_LINK.search(html)
    return f"{path}?{match.group(1).replace('&amp;', '&')}" if match else None


def measure(client, url: str, repeat: int) -> dict:
    _get(client, url)  # warm-up (plans, caches)
    samples, queries, db = [], set(), []
    for _ in range(repeat):
        elapsed, count, _html, db_s = _get(client, url)
        samples.append(elapsed)
        db.append(db_s)
        queries.add(count)
    return {**summarise_ms(samples), "db_p50_ms": round(sorted(db)[len(db) // 2] * 1000, 1), "queries": sorted(queries), "url": url}


def deep_url(client, path: str, query: str, depth: int) -> tuple[str, int]:
    url = f"{path}?{query}" if query else path
    reached = 0
    for _ in range(depth):
        _e, _q, html, _db = _get(client, url)
        nxt = _next_url(path, html)
        if nxt is None:
            break
        url, reached = nxt, reached + 1
    return url, reached


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--depth", type=int, default=50, help="How many pages deep the deep page is")
    parser.add_argument("--screens", default="", help="comma-separated subset, e.g. dunning,payments")
    args = parser.parse_args(argv)
    setup_django()
    from django.test import Client

    client = Client()
    client.force_login(bench_admin())
    book = {"invoices": scalar("SELECT count(*) FROM invoicing_invoice"), "tenants": scalar("SELECT count(*) FROM accounts_tenant"),
            "payments": scalar("SELECT count(*) FROM payments_payment"), "dunning_cases": scalar("SELECT count(*) FROM dunning_dunningcase")}
    print(f"book: {book}; load average {os.getloadavg()}")
    figures: dict = {"book": book, "repeat": args.repeat, "target_p95_ms": TARGET_P95_MS, "pages": {}}
    worst = 0.0
    wanted = {s for s in args.screens.split(",") if s}
    for name, path, query in screens():
        if wanted and name not in wanted:
            continue
        pages = {}
        if name != "invoices_by_tenant":
            pages["first"] = measure(client, path, args.repeat)
        pages["filtered"] = measure(client, f"{path}?{query}", args.repeat)
        if name != "invoices_by_tenant":
            url, reached = deep_url(client, path, "", args.depth)
            pages["deep"] = {**measure(client, url, args.repeat), "depth": reached}
            url, reached = deep_url(client, path, query, args.depth)
            pages["deep_filtered"] = {**measure(client, url, args.repeat), "depth": reached}
        for kind, row in pages.items():
            worst = max(worst, row["p95_ms"])
            print(f"  {name:<20} {kind:<14} p50 {row['p50_ms']:>7.1f} ms  p95 {row['p95_ms']:>7.1f} ms  (db p50 {row['db_p50_ms']:>6.1f} ms)  queries {row['queries']}"
                  + (f"  depth {row['depth']}" if "depth" in row else ""), flush=True)
        figures["pages"][name] = pages
    figures["worst_p95_ms"] = worst
    figures["meets_target"] = worst < TARGET_P95_MS
    write_results("bench_lists" + ("_" + "_".join(sorted(wanted)) if wanted else ""), figures)


if __name__ == "__main__":
    main()
