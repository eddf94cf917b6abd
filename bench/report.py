"""Print the targets-vs-measured table (markdown) from bench/results/*.json.

    .venv/bin/python -m bench.report
"""
from __future__ import annotations

import json

from bench.common import RESULTS_DIR


def _load(name: str) -> dict | None:
    path = RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _load_avg(doc: dict) -> str:
    return "/".join(str(x) for x in doc["machine"].get("load_average_1_5_15", [])[:1]) or "?"


def rows() -> list[tuple[str, str, str, str, str]]:
    out = []
    gen = _load("bench_generation")
    if gen:
        f = gen["figures"]
        measured = (f"{f['seconds']} s for {f['made']:,}" if f["complete"] else
                    f"{f['made']:,} invoices in {f['seconds']} s = {f['invoices_per_s']}/s → ~{f['seconds_for_all']:,.0f} s for "
                    f"{f['due_subscriptions']:,} (extrapolated)")
        out.append(("1. generation, 100,000 due subscriptions", "< 120 s, all correct, none duplicated",
                    f"{measured}; checks {'OK' if f['checks']['correct'] else 'FAILED'} (duplicates {f['checks']['duplicated_periods']})",
                    "1", _load_avg(gen)))
    ac = _load("bench_autocharge")
    if ac:
        f = ac["figures"]
        c = f["checks"]
        out.append((f"2. auto-charge ({f['invoices']:,} invoices, 50 ms fake latency)", "< 300 s for 100,000; none charged twice",
                    f"{f['seconds']} s = {f['invoices_per_s']}/s ({f['processes']}×{f['threads_per_process']} threads) → "
                    f"~{100000 / f['invoices_per_s']:,.0f} s for 100,000; charged twice: {c['fake_invoices_charged_twice']}, "
                    f"duplicate refs: {c['fake_duplicate_references']}, fake = DB: {c['fake_refs_equal_db_refs']}, "
                    f"summary = DB: {f['summaries']['charged'] == c['succeeded'] and f['summaries']['errors'] == c['payments'] - c['succeeded']}, "
                    f"paid {c['invoices_paid']:,}, left pending {c['payments'] - c['succeeded']}",
                    "1", _load_avg(ac)))
    lists = _load("bench_lists")
    if lists:
        f = lists["figures"]
        for screen, pages in f["pages"].items():
            cells = ", ".join(f"{kind} {row['p95_ms']:.0f}" for kind, row in pages.items())
            queries = sorted({q for row in pages.values() for q in row["queries"]})
            out.append((f"3. list {screen}", "p95 < 150 ms, fixed queries",
                        f"p95 ms: {cells}; queries/page {queries}", f"{f['repeat']} samples/page", _load_avg(lists)))
    wh = _load("bench_webhooks")
    if wh:
        f = wh["figures"]
        load = f["load"]
        out.append(("4. webhooks (gunicorn, loopback)", "≥ 300 req/s, p99 < 100 ms, exactly once",
                    f"{load['rps']} req/s achieved of {f['rate']:.0f} offered ({f['gunicorn_workers']} workers), p50 {load['p50_ms']:,.0f} ms, "
                    f"p99 {load['p99_ms']:,.0f} ms; exactly once: {f['exactly_once']}; processing {f['processing_events_per_s']}/s",
                    "1", _load_avg(wh)))
    csv = _load("bench_csv")
    if csv:
        f = csv["figures"]
        run = f["runs"][-1]
        out.append(("5. CSV export, 1,000,000 invoices", "< 60 s, peak RSS < 200 MB",
                    f"{f['median_s']} s (worker CPU {run.get('worker_cpu_s', '?')} s), peak RSS {f['max_peak_rss_mb']} MB",
                    str(len(f["runs"])), _load_avg(csv)))
    pdf = _load("bench_pdf")
    if pdf:
        f = pdf["figures"]
        one = f["one_pdf_ms"]
        reg = f["register_1000"]
        out.append(("6. one invoice PDF", "< 500 ms", f"median {one['median']} ms (CPU {one.get('median_cpu', '?')} ms)",
                    str(len(one["runs"])), _load_avg(pdf)))
        out.append(("6. PDF register, 1,000 invoices", "< 20 s",
                    "; ".join(f"{k}: median {v['median_s']} s (CPU {v.get('median_cpu_s', '?')} s)" for k, v in reg.items()),
                    str(len(next(iter(reg.values()))["runs_s"])), _load_avg(pdf)))
    return out


def main() -> None:
    print("| benchmark | target | measured | runs | load avg |")
    print("|---|---|---|---|---|")
    for row in rows():
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
