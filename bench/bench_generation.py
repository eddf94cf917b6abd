"""Benchmark: invoice generation for every due subscription (100,000) through the real task.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench REDIS_URL=redis://127.0.0.1:6379/6 \\
      .venv/bin/python -m bench.bench_generation --reset [--celery-workers 2]

Default: calls the Celery task function ``invoicing.tasks.generate_due_invoices`` in this process
(what a worker runs when beat fires it). With ``--celery-workers N`` it starts a Celery worker with N
processes on the REDIS_URL broker and sends the task once; the task fans the work out to the workers
in chunks (see invoicing/generation.py) and the benchmark waits until no subscription is due.
``--reset`` first deletes the invoices made by an earlier run (those linked to a subscription, with
their lines, payments and dunning cases) so every subscription of the book is due again.
Then it verifies: one invoice per due subscription and period, none duplicated, every invoice issued
with a unique number, one plan line, and subtotal/tax/total equal to the plan price plus 7.5% tax.
Target: < 120 s for 100,000 subscriptions.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import scalar, setup_django, write_results

TARGET_S = 120


def reset_generated() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE gen_inv AS SELECT id FROM invoicing_invoice WHERE subscription_id IS NOT NULL")
        cur.execute("SELECT count(*) FROM gen_inv")
        count = cur.fetchone()[0]
        cur.execute("UPDATE payments_webhookevent SET payment_id = NULL WHERE payment_id IN "
                    "(SELECT id FROM payments_payment WHERE invoice_id IN (SELECT id FROM gen_inv))")
        cur.execute("DELETE FROM payments_refund WHERE payment_id IN (SELECT id FROM payments_payment WHERE invoice_id IN (SELECT id FROM gen_inv))")
        cur.execute("DELETE FROM payments_payment WHERE invoice_id IN (SELECT id FROM gen_inv)")
        cur.execute("DELETE FROM dunning_dunningcase WHERE invoice_id IN (SELECT id FROM gen_inv)")
        cur.execute("DELETE FROM invoicing_invoiceline WHERE invoice_id IN (SELECT id FROM gen_inv)")
        cur.execute("DELETE FROM invoicing_invoice WHERE id IN (SELECT id FROM gen_inv)")
        cur.execute("DELETE FROM invoicing_documentsequence WHERE prefix = 'INV'")
        cur.execute("DROP TABLE gen_inv")
        cur.execute("VACUUM ANALYZE invoicing_invoice") if not connection.in_atomic_block else None
        cur.execute("ANALYZE invoicing_invoiceline")
    return count


def verify(*, today, due_before: set[int]) -> dict:
    rows = {
        "due_before": len(due_before),
        "invoices": scalar("SELECT count(*) FROM invoicing_invoice WHERE subscription_id IS NOT NULL"),
        "duplicated_periods": scalar("SELECT count(*) FROM (SELECT 1 FROM invoicing_invoice WHERE subscription_id IS NOT NULL "
                                     "GROUP BY subscription_id, period_start HAVING count(*) > 1) d"),
        "duplicate_numbers": scalar("SELECT count(*) FROM (SELECT 1 FROM invoicing_invoice WHERE number IS NOT NULL "
                                    "GROUP BY number HAVING count(*) > 1) d"),
        "not_issued": scalar("SELECT count(*) FROM invoicing_invoice WHERE subscription_id IS NOT NULL AND "
                             "(status <> 'issued' OR number IS NULL OR issue_date IS NULL)"),
        "wrong_period": scalar("SELECT count(*) FROM invoicing_invoice i JOIN subscriptions_subscription s ON s.id = i.subscription_id "
                               "WHERE i.period_start <> s.current_period_start OR i.period_end <> s.current_period_end"),
        "wrong_amounts": scalar(
            "SELECT count(*) FROM invoicing_invoice i JOIN subscriptions_subscription s ON s.id = i.subscription_id "
            "JOIN subscriptions_plan p ON p.id = s.plan_id JOIN subscriptions_price pr ON pr.id = p.base_price_id "
            "WHERE i.subtotal <> pr.unit_amount OR i.tax <> round(pr.unit_amount * pr.tax_rate / 100, 2) "
            "OR i.total <> i.subtotal + i.tax OR i.amount_due <> i.total OR i.currency <> s.currency"),
        "wrong_lines": scalar(
            "SELECT count(*) FROM invoicing_invoice i WHERE i.subscription_id IS NOT NULL AND "
            "(SELECT count(*) FROM invoicing_invoiceline l WHERE l.invoice_id = i.id) <> 1"),
    }
    from invoicing.generation import due_subscriptions

    rows["still_due"] = due_subscriptions(today=today).count()
    rows["correct"] = (rows["invoices"] == rows["due_before"] and rows["still_due"] == 0
                       and not any(rows[k] for k in ("duplicated_periods", "duplicate_numbers", "not_issued", "wrong_period",
                                                     "wrong_amounts", "wrong_lines")))
    return rows


def run_celery(workers: int, due: int, today) -> None:
    from invoicing.generation import due_subscriptions
    from invoicing.tasks import generate_due_invoices

    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "celery", "-A", "billing_ops", "purge", "-f"], check=False, capture_output=True, cwd=root)
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "billing_ops", "worker", "-c", str(workers), "--loglevel", "WARNING",
                               "-n", f"bench-generation-{os.getpid()}@%h"], cwd=root, env={**os.environ, "DEBUG": "false"})
    try:
        generate_due_invoices.delay()
        while due_subscriptions(today=today).exists():
            if worker.poll() is not None:
                raise SystemExit("the Celery worker died")
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=120)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reset", action="store_true", help="delete invoices of earlier runs first")
    parser.add_argument("--celery-workers", type=int, default=0, help="run through a Celery worker with N processes")
    args = parser.parse_args(argv)
    setup_django()
    from django.utils import timezone

    from invoicing.generation import due_subscriptions
    from invoicing.tasks import generate_due_invoices

    if args.reset:
        print(f"  reset: deleted {reset_generated()} generated invoices", flush=True)
    today = timezone.localdate()
    due_before = set(due_subscriptions(today=today).values_list("pk", flat=True))
    print(f"  {len(due_before)} subscriptions due", flush=True)
    started = time.perf_counter()
    if args.celery_workers:
        if not os.environ.get("REDIS_URL"):
            raise SystemExit("--celery-workers needs REDIS_URL")
        run_celery(args.celery_workers, len(due_before), today)
        made = None
    else:
        made = generate_due_invoices()
    elapsed = round(time.perf_counter() - started, 1)
    print(f"  generated in {elapsed} s ({len(due_before) / elapsed:.0f} invoices/s)", flush=True)
    checks = verify(today=today, due_before=due_before)
    print(f"  checks: {checks}", flush=True)
    write_results("bench_generation", {
        "mode": f"celery worker -c {args.celery_workers}" if args.celery_workers else "task function in-process",
        "due_subscriptions": len(due_before), "made": made, "seconds": elapsed,
        "invoices_per_s": round(len(due_before) / elapsed, 1), "checks": checks, "target_s": TARGET_S,
        "meets_target": elapsed < TARGET_S and checks["correct"],
    })


if __name__ == "__main__":
    main()
