"""Benchmark: /billing/invoices/export.csv of the whole book (1,000,000 invoices) through gunicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench .venv/bin/python -m bench.bench_csv

Starts gunicorn (1 sync worker, plain settings with DEBUG off), downloads the export as a logged-in
super_admin over loopback, counts the rows, and reads the worker's peak resident memory (VmHWM from
/proc, which covers the whole request). Targets: < 60 s, peak RSS < 200 MB.
"""
from __future__ import annotations

import argparse
import http.client
import time

from bench.common import Gunicorn, bench_admin, cpu_seconds, peak_rss_mb, scalar, session_cookie, setup_django, write_results

TARGET_S, TARGET_MB = 60, 200


def download(port: int, cookie: str, path: str) -> tuple[int, int, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    if response.status != 200:
        raise SystemExit(f"GET {path} -> {response.status}")
    size = lines = 0
    while chunk := response.read(1 << 20):
        size += len(chunk)
        lines += chunk.count(b"\n")
    conn.close()
    return response.status, size, lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    setup_django()
    cookie = session_cookie(bench_admin())
    invoices = scalar("SELECT count(*) FROM invoicing_invoice")
    runs = []
    for run in range(args.runs):
        with Gunicorn(workers=1) as server:
            (worker,) = server.worker_pids()
            download(server.port, cookie, "/billing/invoices/?status=paid")  # warm-up: app loaded, connection open
            before, cpu = peak_rss_mb(worker), cpu_seconds(worker)
            started = time.perf_counter()
            _status, size, lines = download(server.port, cookie, "/billing/invoices/export.csv")
            elapsed = time.perf_counter() - started
            peak, cpu = peak_rss_mb(worker), round(cpu_seconds(worker) - cpu, 1)
        rows = lines - 1
        runs.append({"seconds": round(elapsed, 2), "rows": rows, "mb": round(size / 1e6, 1), "rss_before_mb": before,
                     "peak_rss_mb": peak, "worker_cpu_s": cpu, "rows_per_s": round(rows / elapsed)})
        print(f"  run {run + 1}: {rows} rows, {size / 1e6:.1f} MB in {elapsed:.1f} s (worker CPU {cpu} s); worker peak RSS {peak} MB (before {before} MB)",
              flush=True)
        if rows != invoices:
            raise SystemExit(f"exported {rows} rows, the database holds {invoices} invoices")
    seconds = sorted(r["seconds"] for r in runs)[len(runs) // 2]
    peak = max(r["peak_rss_mb"] for r in runs)
    write_results("bench_csv", {"invoices": invoices, "runs": runs, "median_s": seconds, "max_peak_rss_mb": peak,
                                "target_s": TARGET_S, "target_mb": TARGET_MB,
                                "meets_target": seconds < TARGET_S and peak < TARGET_MB})


if __name__ == "__main__":
    main()
