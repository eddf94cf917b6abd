"""Benchmark: auto-charge of 100,000 issued invoices to saved cards against the bundled fake Paystack.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench REDIS_URL=redis://127.0.0.1:6379/6 \\
      .venv/bin/python -m bench.bench_autocharge --invoices 100000 [--processes 2] [--threads 24]

Starts the fake Paystack (payments/paystack/fake_server.py) as its own process and sets 50 ms of
latency per call through its control API (POST /__fake__/config). The first run picks tenants (in id
order) until their chargeable (issued/overdue, numbered, amount due) invoices reach --invoices, gives
each a reusable default saved card (bench.generate.make_cards) and remembers the invoices in the
table bench_autocharge; later runs put those invoices back as they were (deleting the payments,
reopening the dunning cases) before charging again.

The run is the real one: ``payments.tasks.run_auto_charge`` (the hourly task) in each of --processes
processes, each with PAYMENTS_AUTO_CHARGE_WORKERS=--threads charging threads; the processes share the
candidate list through the task's row claims (SKIP LOCKED + the attempt lease), as two workers running
the task at once do. Emails go to a throw-away directory (file backend).
Checks: no reference and no invoice charged twice at the fake, the fake's charges equal the
payments in the database, every invoice paid, and the summed run summaries match the database.
Target: < 300 s.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.common import BENCH_SECRET_KEY, free_port, scalar, setup_django, write_results

TARGET_S = 300
TABLE = "bench_autocharge"


def fake_call(base: str, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def prepare(invoices: int) -> dict:
    from django.db import connection

    from bench.generate import make_cards

    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [TABLE])
        if cur.fetchone()[0] is None:
            cur.execute("""SELECT tenant_id, count(*) FROM invoicing_invoice
                           WHERE status IN ('issued', 'overdue') AND amount_due > 0 AND number IS NOT NULL
                           GROUP BY tenant_id ORDER BY tenant_id""")
            chosen, total = [], 0
            for tenant_id, count in cur.fetchall():
                if total >= invoices:
                    break
                chosen.append(tenant_id)
                total += count
            cur.execute("DELETE FROM payments_paymentmethod WHERE tenant_id = ANY(%s)", [chosen])
            make_cards(chosen)
            cur.execute(f"""CREATE TABLE {TABLE} AS SELECT id AS invoice_id, status FROM invoicing_invoice
                            WHERE tenant_id = ANY(%s) AND status IN ('issued', 'overdue') AND amount_due > 0 AND number IS NOT NULL""",
                        [chosen])
            cur.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (invoice_id)")
            cur.execute("ANALYZE")
            return {"tenants_with_cards": len(chosen), "prepared": "new"}
        # Invoices issued since (e.g. by bench_generation) to tenants with cards are candidates too: charge them all.
        cur.execute(f"DELETE FROM {TABLE} b WHERE NOT EXISTS (SELECT 1 FROM invoicing_invoice i WHERE i.id = b.invoice_id)")
        cur.execute(f"""INSERT INTO {TABLE} SELECT id, 'issued' FROM invoicing_invoice
                        WHERE tenant_id IN (SELECT tenant_id FROM payments_paymentmethod WHERE is_default AND reusable)
                        AND subscription_id IS NOT NULL AND number IS NOT NULL
                        ON CONFLICT (invoice_id) DO NOTHING""")
        # Put the invoices of the last run back as they were.
        cur.execute(f"UPDATE payments_webhookevent SET payment_id = NULL WHERE payment_id IN "
                    f"(SELECT id FROM payments_payment WHERE invoice_id IN (SELECT invoice_id FROM {TABLE}))")
        cur.execute(f"DELETE FROM payments_payment WHERE invoice_id IN (SELECT invoice_id FROM {TABLE})")
        cur.execute(f"""UPDATE invoicing_invoice i SET status = b.status, amount_paid = 0, amount_due = i.total, paid_at = NULL
                        FROM {TABLE} b WHERE b.invoice_id = i.id""")
        cur.execute(f"""UPDATE dunning_dunningcase SET status = 'open', closed_at = NULL, closed_reason = '', recovered_step = NULL,
                        recovery_route = '', amount_due = amount_at_risk WHERE invoice_id IN (SELECT invoice_id FROM {TABLE})""")
        cur.execute("VACUUM ANALYZE invoicing_invoice") if not connection.in_atomic_block else None
        cur.execute("VACUUM ANALYZE payments_payment") if not connection.in_atomic_block else None
        return {"tenants_with_cards": scalar("SELECT count(*) FROM payments_paymentmethod"), "prepared": "restored"}


def _run_task(_index: int) -> dict:
    from django.db import connections

    connections.close_all()  # forked: never share the parent's connection
    from payments.tasks import run_auto_charge

    return run_auto_charge()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2, help="processes running the task at once")
    parser.add_argument("--threads", type=int, default=24, help="PAYMENTS_AUTO_CHARGE_WORKERS per process")
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args(argv)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    mail_dir = Path(f"/tmp/bench-autocharge-mail-{os.getpid()}")
    os.environ.update(PAYSTACK_BASE_URL=base, PAYMENTS_AUTO_CHARGE_WORKERS=str(args.threads), EMAIL_FILE_PATH=str(mail_dir),
                      EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend")
    setup_django()
    from django.conf import settings
    from django.db import connections

    settings.PAYMENTS_AUTO_CHARGE_WORKERS = args.threads  # honoured whether or not settings read the variable
    from bench.common import ensure_paystack

    ensure_paystack()
    prepared = prepare(args.invoices)
    target = scalar(f"SELECT count(*) FROM {TABLE}")
    from payments.services.charging import auto_charge_candidates

    candidates = auto_charge_candidates().count()
    print(f"  {target} invoices with saved cards ({prepared}); {candidates} auto-charge candidates in the database", flush=True)
    fake = subprocess.Popen([sys.executable, "-m", "payments.paystack.fake_server", "--port", str(port), "--secret-key", BENCH_SECRET_KEY,
                             "--log-level", "WARNING"], cwd=Path(__file__).resolve().parent.parent)
    try:
        for _ in range(100):
            try:
                fake_call(base, "POST", "/__fake__/reset", {})
                break
            except OSError:
                time.sleep(0.1)
        fake_call(base, "POST", "/__fake__/config", {"latency_ms": args.latency_ms, "webhook_url": None})
        connections.close_all()
        started = time.perf_counter()
        if args.processes > 1:
            with multiprocessing.get_context("fork").Pool(args.processes) as pool:
                summaries = pool.map(_run_task, range(args.processes))
        else:
            summaries = [_run_task(0)]
        elapsed = round(time.perf_counter() - started, 1)
        charges = fake_call(base, "GET", "/__fake__/charges")
    finally:
        fake.terminate()
        fake.wait(timeout=30)
        shutil.rmtree(mail_dir, ignore_errors=True)
    charges = charges.get("charges", charges) if isinstance(charges, dict) else charges
    summed = {k: sum(s.get(k, 0) for s in summaries) for k in ("charged", "failed", "pending", "skipped", "errors")}
    print(f"  charged in {elapsed} s ({target / elapsed:.0f} invoices/s); summaries {summed}", flush=True)

    references = [c.get("reference") for c in charges]
    db = {
        "payments": scalar(f"SELECT count(*) FROM payments_payment WHERE invoice_id IN (SELECT invoice_id FROM {TABLE})"),
        "succeeded": scalar(f"SELECT count(*) FROM payments_payment WHERE status = 'succeeded' AND invoice_id IN (SELECT invoice_id FROM {TABLE})"),
        "invoices_paid": scalar(f"SELECT count(*) FROM invoicing_invoice WHERE status = 'paid' AND id IN (SELECT invoice_id FROM {TABLE})"),
        "invoices_with_two_successes": scalar(
            f"SELECT count(*) FROM (SELECT invoice_id FROM payments_payment WHERE status = 'succeeded' AND invoice_id IN "
            f"(SELECT invoice_id FROM {TABLE}) GROUP BY invoice_id HAVING count(*) > 1) d"),
        "open_cases_left": scalar(f"SELECT count(*) FROM dunning_dunningcase WHERE status = 'open' AND invoice_id IN "
                                  f"(SELECT invoice_id FROM {TABLE})"),
    }
    db_refs = set(r for (r,) in _rows(f"SELECT reference FROM payments_payment WHERE invoice_id IN (SELECT invoice_id FROM {TABLE})"))
    charged_invoices = [c.get("metadata", {}).get("invoice_id") if isinstance(c.get("metadata"), dict) else None for c in charges]
    checks = {
        "fake_charges": len(charges),
        "fake_duplicate_references": len(references) - len(set(references)),
        "fake_invoices_charged_twice": len([i for i in charged_invoices if i is not None]) - len({i for i in charged_invoices if i is not None}),
        "fake_refs_equal_db_refs": set(references) == db_refs,
        **db,
        "pending_in_db": db["payments"] - db["succeeded"],
        # Both processes see every candidate: one charges it, the other skips it (claimed). Errors leave the
        # attempt pending (verified by the next run), so: charged = succeeded rows, errors = pending rows.
        "summary_matches_db": summed["charged"] == db["succeeded"] and summed["errors"] == db["payments"] - db["succeeded"],
    }
    checks["correct"] = (checks["fake_duplicate_references"] == 0 and checks["fake_invoices_charged_twice"] == 0
                         and checks["fake_refs_equal_db_refs"] and checks["summary_matches_db"]
                         and db["invoices_paid"] == target and db["invoices_with_two_successes"] == 0)
    print(f"  checks: {checks}", flush=True)
    write_results("bench_autocharge", {
        "invoices": target, "processes": args.processes, "threads_per_process": args.threads, "latency_ms": args.latency_ms,
        "seconds": elapsed, "invoices_per_s": round(target / elapsed, 1), "summaries": summed, "checks": checks,
        "target_s": TARGET_S, "meets_target": elapsed < TARGET_S and checks["correct"],
    })


def _rows(sql: str):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


if __name__ == "__main__":
    main()
