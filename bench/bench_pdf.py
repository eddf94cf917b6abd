"""Benchmark: one invoice PDF, and the PDF register of 1,000 invoices.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench .venv/bin/python -m bench.bench_pdf

In-process through django.test.Client logged in as a super_admin (the full view: query, template,
WeasyPrint). The single invoice is a fresh 3-line invoice made through the services; the register
is /billing/invoices/export.pdf over the whole book, which renders the newest 1,000 invoices plus
totals per currency over all of them (and a filtered register, status=paid). Targets: one PDF
< 500 ms (median), register < 20 s.
"""
from __future__ import annotations

import argparse
import statistics
import time
from decimal import Decimal

from bench.common import bench_admin, scalar, setup_django, write_results

TARGET_ONE_MS, TARGET_REGISTER_S = 500, 20


def sample_invoice(actor):
    from accounts.models import Tenant
    from invoicing.services import invoice_create, invoice_issue

    tenant = Tenant.objects.filter(currency="NGN").order_by("id").first()
    lines = [{"description": "Platform plan", "quantity": Decimal(1), "unit_price": Decimal("25000.00"), "tax_rate": Decimal("7.5")},
             {"description": "Extra seats", "quantity": Decimal(12), "unit_price": Decimal("1500.00"), "tax_rate": Decimal("7.5")},
             {"description": "Support add-on", "quantity": Decimal(1), "unit_price": Decimal("5000.00"), "tax_rate": Decimal("7.5")}]
    invoice = invoice_create(actor=actor, tenant=tenant, currency="NGN", lines=lines, memo="Benchmark invoice")
    return invoice_issue(actor=actor, invoice=invoice)


CPU: list[float] = []  # CPU seconds this process spent on each request (the machine is shared: wall time includes waiting)


def timed_get(client, url: str) -> tuple[float, int]:
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    CPU.append(time.process_time() - cpu)
    if response.status_code != 200 or response["Content-Type"] != "application/pdf":
        raise SystemExit(f"GET {url} -> {response.status_code} {response['Content-Type']}")
    return elapsed, len(response.content)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9, help="single-invoice renders")
    parser.add_argument("--register-runs", type=int, default=3)
    args = parser.parse_args(argv)
    setup_django()
    from django.test import Client

    admin = bench_admin()
    client = Client()
    client.force_login(admin)
    invoice = sample_invoice(admin)
    url = f"/billing/invoices/{invoice.pk}/pdf"
    timed_get(client, url)  # warm-up: WeasyPrint imports and font discovery happen once per process
    CPU.clear()
    singles = [timed_get(client, url)[0] for _ in range(args.repeat)]
    one_ms = round(statistics.median(singles) * 1000, 1)
    one_cpu_ms = round(statistics.median(CPU) * 1000, 1)
    print(f"  one invoice PDF: median {one_ms} ms over {len(singles)} (min {min(singles) * 1000:.0f}, max {max(singles) * 1000:.0f}); "
          f"CPU median {one_cpu_ms} ms", flush=True)

    registers = {}
    for label, query in (("all", ""), ("paid", "?status=paid")):
        runs, cpus = [], []
        for _ in range(args.register_runs):
            elapsed, size = timed_get(client, f"/billing/invoices/export.pdf{query}")
            runs.append(round(elapsed, 2))
            cpus.append(round(CPU[-1], 2))
            print(f"  register ({label}, 1,000 rows): {elapsed:.2f} s (CPU {CPU[-1]:.2f} s), {size / 1e3:.0f} kB", flush=True)
        registers[label] = {"runs_s": runs, "median_s": statistics.median(runs), "cpu_s": cpus, "median_cpu_s": statistics.median(cpus)}
    worst_register = max(r["median_s"] for r in registers.values())
    write_results("bench_pdf", {
        "invoices_in_book": scalar("SELECT count(*) FROM invoicing_invoice"),
        "one_pdf_ms": {"median": one_ms, "median_cpu": one_cpu_ms, "runs": [round(s * 1000, 1) for s in singles]},
        "register_1000": registers, "target_one_ms": TARGET_ONE_MS, "target_register_s": TARGET_REGISTER_S,
        "meets_target": one_ms < TARGET_ONE_MS and worst_register < TARGET_REGISTER_S,
    })


if __name__ == "__main__":
    main()
