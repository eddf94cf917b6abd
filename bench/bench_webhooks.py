"""Benchmark: Paystack webhook ingestion under load, behind gunicorn, then processing catching up.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench REDIS_URL=redis://127.0.0.1:6379/6 \\
      .venv/bin/python -m bench.bench_webhooks --rate 350 --seconds 30 --workers 3

Starts gunicorn (plain settings, DEBUG off, --workers sync workers) with Paystack configured, and
from --clients separate client processes on loopback POSTs signed ``charge.success`` bodies, each
with its own reference (unknown to us: processing sends them to the review list), paced to --rate
requests/s in total (open loop: latency is measured from the moment a request was due, so a slow
server cannot hide behind a slow client). --duplicates of the events are delivered a second time
to show they are stored once. Then a Celery worker (--celery-concurrency processes, REDIS_URL broker)
drains the tasks the web processes queued, and the time until every event is processed is reported.
Targets: >= 300 req/s, p99 < 100 ms, every event stored exactly once.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import Gunicorn, ensure_paystack, percentile, setup_django, write_results

TARGET_RPS, TARGET_P99_MS = 300, 100


def body_for(run: str, n: int) -> bytes:
    return json.dumps({"event": "charge.success", "data": {
        "id": 900_000_000 + n, "reference": f"BENCH-{run}-{n:07d}", "amount": 2687500, "currency": "NGN", "status": "success",
        "paid_at": "2026-11-23T10:00:00.000Z", "channel": "card", "customer": {"email": f"load{n}@bench.example"},
        "authorization": {"authorization_code": f"AUTH_load{n}", "reusable": True, "last4": "4081", "brand": "visa"},
    }}, separators=(",", ":")).encode()


def _client(job) -> dict:
    """One client process: ``threads`` threads, each sending its share of the numbers at its pace."""
    port, secret, run, numbers, interval, threads = job
    from payments.paystack.signing import sign

    results = {"latencies": [], "statuses": {}, "errors": 0}
    lock = threading.Lock()
    shares = [numbers[i::threads] for i in range(threads)]
    began = time.perf_counter() + 0.2

    def worker(index, share):
        for k, n in enumerate(share):
            due = began + (k * threads + index) * interval  # this process's schedule, interleaved over threads
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            raw = body_for(run, n)
            sent = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", "/webhooks/paystack", body=raw,
                             headers={"Content-Type": "application/json", "x-paystack-signature": sign(raw, secret)})
                response = conn.getresponse()
                response.read()
                conn.close()
                status = response.status
            except OSError:
                status = "error"
            latency = time.perf_counter() - (due if interval else sent)  # open loop: from when it was due
            with lock:
                results["latencies"].append(latency)
                results["statuses"][str(status)] = results["statuses"].get(str(status), 0) + 1

    pool = [threading.Thread(target=worker, args=(i, share)) for i, share in enumerate(shares)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results


def send(*, port: int, secret: str, run: str, numbers: list[int], rate: float, clients: int, threads: int) -> dict:
    per_client = [numbers[i::clients] for i in range(clients)]
    interval = (clients / rate) if rate else 0.0  # seconds between requests of one client process
    jobs = [(port, secret, run, share, interval, threads) for share in per_client]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        outcomes = pool.map(_client, jobs)
    elapsed = time.perf_counter() - started
    latencies = [lat for o in outcomes for lat in o["latencies"]]
    statuses: dict[str, int] = {}
    for o in outcomes:
        for k, v in o["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    ms = sorted(lat * 1000 for lat in latencies)
    return {"requests": len(latencies), "seconds": round(elapsed, 2), "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1),
            "p99_ms": round(percentile(ms, 99), 1), "max_ms": round(ms[-1], 1), "statuses": statuses}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=300, help="requests/s in total (0: as fast as possible)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=16, help="threads per client process")
    parser.add_argument("--duplicates", type=float, default=0.05, help="share of events delivered twice")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    args = parser.parse_args(argv)
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("Set REDIS_URL (the Celery broker the web processes queue processing on)")
    setup_django()
    from django.db.models import Count, Sum

    from payments.models import WebhookEvent

    secret = ensure_paystack()
    run = f"{int(time.time())}"
    total = int(args.rate * args.seconds) if args.rate else int(300 * args.seconds)
    distinct = int(total / (1 + args.duplicates))
    numbers = list(range(distinct)) + list(range(0, distinct, max(1, round(1 / args.duplicates))))[: total - distinct]
    import random

    random.Random(7).shuffle(numbers)
    subprocess.run([sys.executable, "-m", "celery", "-A", "billing_ops", "purge", "-f"], check=False,
                   capture_output=True, cwd=Path(__file__).resolve().parent.parent)
    print(f"sending {len(numbers)} webhooks ({distinct} distinct) at {args.rate or 'max'}/s, {args.workers} gunicorn workers")
    with Gunicorn(workers=args.workers) as server:
        send(port=server.port, secret=secret, run=run + "w", numbers=list(range(50)), rate=0, clients=1, threads=4)  # warm-up
        load = send(port=server.port, secret=secret, run=run, numbers=numbers, rate=args.rate, clients=args.clients,
                    threads=args.threads)
    print(f"  load: {load}", flush=True)
    mine = WebhookEvent.objects.filter(reference__startswith=f"BENCH-{run}-")
    stored = mine.aggregate(rows=Count("id"), deliveries=Sum("deliveries"))
    ok = load["statuses"].get("200", 0)
    exactly_once = stored["rows"] == distinct and stored["deliveries"] == ok == len(numbers)
    print(f"  stored {stored['rows']} events for {distinct} distinct references, {stored['deliveries']} deliveries counted "
          f"for {ok} accepted requests: {'exactly once' if exactly_once else 'MISMATCH'}", flush=True)

    # Processing catches up: a Celery worker drains what the web processes queued.
    started = time.perf_counter()
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "billing_ops", "worker", "-c", str(args.celery_concurrency),
                               "--loglevel", "WARNING", "-n", f"bench-webhooks-{run}@%h"],
                              cwd=Path(__file__).resolve().parent.parent, env={**os.environ, "DEBUG": "false"})
    try:
        while True:
            left = mine.filter(status__in=("received", "failed")).count()
            if left == 0 or time.perf_counter() - started > 900:
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    processing_s = round(time.perf_counter() - started, 1)
    by_status = dict(mine.values_list("status").annotate(n=Count("id")).order_by())
    print(f"  processing: {stored['rows']} events in {processing_s} s (incl. worker start-up) -> {by_status}", flush=True)
    write_results("bench_webhooks", {
        "gunicorn_workers": args.workers, "clients": args.clients, "threads_per_client": args.threads, "rate": args.rate,
        "load": load, "distinct_events": distinct, "stored": stored, "exactly_once": exactly_once,
        "processing_s": processing_s, "processing_events_per_s": round(stored["rows"] / processing_s, 1),
        "processed_by_status": by_status, "target_rps": TARGET_RPS, "target_p99_ms": TARGET_P99_MS,
        "meets_target": exactly_once and load["rps"] >= TARGET_RPS * 0.97 and load["p99_ms"] < TARGET_P99_MS and left == 0,
    })


if __name__ == "__main__":
    main()
