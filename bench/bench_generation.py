"""Benchmark: invoice generation for every due subscription (100,000) through the real task.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench \\
      .venv/bin/python -m bench.bench_generation --reset [--max-seconds 600]

Runs the Celery task function ``invoicing.tasks.generate_due_invoices`` (what a worker runs when beat
fires it; it walks the due subscriptions in id batches of 500, the plain ones of a batch in one transaction,
the others one transaction per subscription) in a child process. ``--workers N`` (with ``REDIS_URL``) runs
it with fan-out instead: the ranges are made by a real Celery worker started with ``--concurrency N`` (as
the README runs it), invoice emails routed to a queue it does not consume. ``--runs N`` runs the task N
times at once (they split the work). ``--one-by-one`` measures the per-subscription path alone (the path
before bulk generation). ``--queries 500`` only counts the queries per invoice of both paths (rolled back). ``--max-seconds`` stops it after that long (the task is crash-safe: each subscription
is its own transaction, the next run carries on) and the figure is then a measured rate with the time
for all due subscriptions extrapolated from it — the JSON says which.
``--reset`` first deletes the invoices made by an earlier run (those linked to a subscription, with
their lines, payments and dunning cases) so every subscription of the book is due again.
Then it verifies the invoices made: one per subscription and period, none duplicated, every invoice
issued with a unique number, one plan line, subtotal/tax/total equal to the plan price plus 7.5% tax,
and (for a complete run) no subscription still due. Target: < 120 s for 100,000 subscriptions.
"""
from __future__ import annotations

import argparse
import multiprocessing
import time

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
        cur.execute("DROP TABLE gen_inv")
        cur.execute("VACUUM ANALYZE invoicing_invoice") if not connection.in_atomic_block else None
        cur.execute("ANALYZE invoicing_invoiceline")
    return count


def verify(*, today, due_before: set[int], made: int, complete: bool) -> dict:
    rows = {
        "due_before": len(due_before),
        "made": made,
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
    rows["still_due_expected"] = 0 if complete else len(due_before) - made
    rows["correct"] = (rows["still_due"] == rows["still_due_expected"] and rows["invoices"] >= made
                       and not any(rows[k] for k in ("duplicated_periods", "duplicate_numbers", "not_issued", "wrong_period",
                                                     "wrong_amounts", "wrong_lines")))
    return rows


def _run_task(_conn, one_by_one: bool = False, fan_out: bool = False) -> None:
    from django.db import connections

    connections.close_all()  # forked: never share the parent's connection
    if one_by_one:  # the path before bulk generation, for comparison
        from billing_ops.actors import system
        from invoicing.generation import generate_due_invoices as run

        _conn.send(run(actor=system("invoice-generation"), batch_size=200, bulk=False))
        return
    from invoicing.tasks import generate_due_invoices

    _conn.send(generate_due_invoices(fan_out=fan_out))


def _start_workers(concurrency: int):
    """A Celery worker as the README runs it (``--concurrency``), on the broker of REDIS_URL; invoice emails
    are routed to a queue it does not consume (PDF rendering is not part of generation)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "INVOICE_EMAIL_QUEUE": "bench-invoice-emails", "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "billing_ops", "worker", "--concurrency", str(concurrency),
                               "--loglevel", "WARNING", "-Q", "celery", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                              env=env)
    from billing_ops.celery import app

    for _ in range(120):  # until it answers a ping
        if app.control.ping(timeout=0.5):
            return worker
    worker.terminate()
    raise SystemExit("the Celery worker did not start")


def _stop_workers(worker) -> None:
    import signal
    import subprocess

    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:  # a stuck warm shutdown: stop it hard
        worker.kill()
        worker.wait()


def count_queries(count: int) -> dict:
    """Queries per invoice of each path over the first ``count`` due subscriptions (rolled back: nothing is kept)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from billing_ops import bulk
    from billing_ops.actors import system
    from invoicing.generation import due_subscriptions, invoice_generate_batch, invoice_generate_for_subscription

    actor = system("invoice-generation")
    ids = list(due_subscriptions(today=timezone.localdate()).values_list("pk", flat=True)[:count])
    figures = {}
    for path in ("one_by_one", "bulk"):
        executed = []

        def counted(execute, sql, params, many, context, executed=executed):
            executed.append(sql)
            return execute(sql, params, many, context)

        copies = []
        copy_statement = bulk._copy  # every COPY of insert_rows and insert_values starts here

        def counted_copy(model, columns, copies=copies, copy_statement=copy_statement):
            copies.append(model)  # COPY runs on the raw cursor, unseen by execute_wrapper
            return copy_statement(model, columns)

        bulk._copy = counted_copy
        try:
            with transaction.atomic(), connection.execute_wrapper(counted):
                if path == "bulk":
                    made = len(invoice_generate_batch(actor=actor, subscription_ids=ids)[0])
                else:
                    made = sum(invoice_generate_for_subscription(actor=actor, subscription_id=pk) is not None for pk in ids)
                transaction.set_rollback(True)
        finally:
            bulk._copy = copy_statement
        total = len(executed) + len(copies)
        figures[path] = {"invoices": made, "queries": total, "per_invoice": round(total / max(made, 1), 3)}
    return figures


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reset", action="store_true", help="delete invoices of earlier runs first")
    parser.add_argument("--max-seconds", type=float, default=0, help="stop the task after this long and extrapolate")
    parser.add_argument("--queries", type=int, default=0,
                        help="only count the queries per invoice of both paths over this many due subscriptions (rolled back)")
    parser.add_argument("--workers", type=int, default=0,
                        help="fan out: queue the ranges to a Celery worker with this --concurrency (needs REDIS_URL)")
    parser.add_argument("--runs", type=int, default=1, help="run the task this many times at once (separate processes)")
    parser.add_argument("--one-by-one", action="store_true", help="the per-subscription path only (no bulk batches), for comparison")
    args = parser.parse_args(argv)
    setup_django()
    from django.db import connections
    from django.utils import timezone

    from invoicing.generation import due_subscriptions

    if args.reset:
        print(f"  reset: deleted {reset_generated()} generated invoices", flush=True)
    if args.queries:
        figures = count_queries(args.queries)
        print(f"  queries: {figures}", flush=True)
        write_results("bench_generation_queries", figures)
        return
    today = timezone.localdate()
    due_before = set(due_subscriptions(today=today).values_list("pk", flat=True))
    before = scalar("SELECT count(*) FROM invoicing_invoice WHERE subscription_id IS NOT NULL")
    print(f"  {len(due_before)} subscriptions due", flush=True)
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    worker = _start_workers(args.workers) if args.workers else None
    started = time.perf_counter()
    runs = [ctx.Process(target=_run_task, args=(child, args.one_by_one, bool(worker))) for _ in range(args.runs)]
    for task in runs:
        task.start()
    deadline = time.monotonic() + args.max_seconds if args.max_seconds else None
    for task in runs:
        task.join(max(deadline - time.monotonic(), 0) if deadline else None)
    if worker is not None:  # the ranges are made by the worker: done when nothing is due any more
        while due_subscriptions(today=today).exists() and not (deadline and time.monotonic() > deadline):
            time.sleep(0.25)
        connections.close_all()
    complete = not any(task.is_alive() for task in runs) and not (worker and due_subscriptions(today=today).exists())
    elapsed_at_end = time.perf_counter()
    if worker is not None:
        _stop_workers(worker)
    for task in runs:
        if task.is_alive():
            task.terminate()
            task.join()
    elapsed = round(elapsed_at_end - started, 1)
    made = scalar("SELECT count(*) FROM invoicing_invoice WHERE subscription_id IS NOT NULL") - before
    rate = made / elapsed
    total_s = elapsed if complete else round(len(due_before) / rate, 1)
    print(f"  {'generated' if complete else 'stopped after'} {elapsed} s: {made} invoices ({rate:.1f}/s)"
          + ("" if complete else f"; all {len(due_before)} would take ~{total_s} s"), flush=True)
    checks = verify(today=today, due_before=due_before, made=made, complete=complete)
    print(f"  checks: {checks}", flush=True)
    write_results("bench_generation", {
        "mode": ("per-subscription path in a child process" if args.one_by_one else
                 f"task fanned out to a Celery worker --concurrency {args.workers}" if args.workers else
                 f"task function in {args.runs} child process(es) at once"), "complete": complete,
        "due_subscriptions": len(due_before), "made": made, "seconds": elapsed, "invoices_per_s": round(rate, 1),
        "seconds_for_all": total_s, "extrapolated": not complete, "checks": checks, "target_s": TARGET_S,
        "meets_target": complete and elapsed < TARGET_S and checks["correct"],
    })


if __name__ == "__main__":
    main()
