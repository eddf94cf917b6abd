"""Print the targets-vs-measured table (markdown): the median of the last --runs runs of each benchmark.

    .venv/bin/python -m bench.report [--runs 3]

Each benchmark appends every run to ``bench/results/<name>.history.jsonl`` (``bench.common.write_results``);
run each command three times, then this prints the median of the headline figure with every run's value
beside it, the number of runs used, and the load average the runs ended at.
"""
from __future__ import annotations

import argparse
import json
import statistics

from bench.common import RESULTS_DIR


def _same_setup(doc: dict, latest: dict) -> bool:
    """Runs are only comparable with the same set-up (e.g. generation in one process vs fanned out)."""
    keys = ("mode", "invoices", "processes", "threads_per_process", "rate", "gunicorn_workers")
    return all(doc["figures"].get(k) == latest["figures"].get(k) for k in keys)


def _runs(name: str, count: int) -> list[dict]:
    history = RESULTS_DIR / f"{name}.history.jsonl"
    if history.exists():
        docs = [json.loads(line) for line in history.read_text().splitlines() if line.strip()]
        return [d for d in docs if _same_setup(d, docs[-1])][-count:]
    latest = RESULTS_DIR / f"{name}.json"
    return [json.loads(latest.read_text())] if latest.exists() else []


def _loads(docs: list[dict]) -> str:
    return "/".join(str(d["machine"].get("load_average_1_5_15", ["?"])[0]) for d in docs)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _each(values: list[float], fmt: str = "{:,.0f}") -> str:
    return "(" + ", ".join(fmt.format(v) for v in values) + ")"


def _generation(docs: list[dict]) -> tuple:
    figures = [d["figures"] for d in docs]
    seconds = [f["seconds"] if f["complete"] else f["seconds_for_all"] for f in figures]
    rates = [f["invoices_per_s"] for f in figures]
    extrapolated = any(not f["complete"] for f in figures)
    ok = all(f["checks"]["correct"] for f in figures) and not any(f["checks"]["duplicated_periods"] for f in figures)
    last = figures[-1]
    return ("1. generation, 100,000 due subscriptions", "< 120 s, all correct, none duplicated",
            f"**{_median(seconds):,.0f} s**{' (extrapolated)' if extrapolated else ''} {_each(seconds)} for "
            f"{last['due_subscriptions']:,}; {_median(rates):,.0f} invoices/s; checks {'OK' if ok else 'FAILED'}")


def _autocharge(docs: list[dict]) -> tuple:
    figures = [d["figures"] for d in docs]
    rates = [f["invoices_per_s"] for f in figures]
    projected = [100000 / r for r in rates]
    checks_ok = all(not f["checks"]["fake_invoices_charged_twice"] and not f["checks"]["fake_duplicate_references"]
                    and f["checks"]["fake_refs_equal_db_refs"] and f["summaries"]["charged"] == f["checks"]["succeeded"]
                    for f in figures)
    last = figures[-1]
    return (f"2. auto-charge ({last['invoices']:,} invoices, 50 ms fake latency)", "< 300 s for 100,000; none charged twice",
            f"**{_median([f['seconds'] for f in figures]):,.0f} s** {_each([f['seconds'] for f in figures])} for "
            f"{last['invoices']:,} = {_median(rates):,.0f}/s → ~{_median(projected):,.0f} s for 100,000 "
            f"({last['processes']}×{last['threads_per_process']} threads); none charged twice and summaries = DB: "
            f"{'yes' if checks_ok else 'NO'}")


def _lists(docs: list[dict]) -> list[tuple]:
    out = []
    screens = docs[-1]["figures"]["pages"]
    for screen, pages in screens.items():
        cells, queries = [], set()
        for kind in pages:
            values = [d["figures"]["pages"][screen][kind]["p95_ms"] for d in docs if kind in d["figures"]["pages"].get(screen, {})]
            queries |= {q for d in docs for q in d["figures"]["pages"].get(screen, {}).get(kind, {}).get("queries", [])}
            cells.append(f"{kind} {_median(values):.0f}")
        out.append((f"3. list {screen}", "p95 < 150 ms, fixed queries",
                    f"p95 ms: {', '.join(cells)}; queries/page {sorted(queries)}"))
    return out


def _webhooks(docs: list[dict]) -> tuple:
    figures = [d["figures"] for d in docs]
    rps = [f["load"]["rps"] for f in figures]
    p99 = [f["load"]["p99_ms"] for f in figures]
    last = figures[-1]
    return ("4. webhooks (gunicorn, loopback)", "≥ 300 req/s, p99 < 100 ms, exactly once",
            f"**{_median(rps):,.0f} req/s** {_each(rps)} of {last['rate']:.0f} offered ({last['gunicorn_workers']} workers), "
            f"p99 **{_median(p99):,.0f} ms** {_each(p99)}; exactly once: {all(f['exactly_once'] for f in figures)}; "
            f"processing {_median([f['processing_events_per_s'] for f in figures]):,.0f}/s")


def _csv(docs: list[dict]) -> tuple:
    runs = [run for d in docs for run in d["figures"]["runs"]][-3:]
    seconds = [r["seconds"] for r in runs]
    rss = [r["peak_rss_mb"] for r in runs]
    return ("5. CSV export, 1,000,000 invoices", "< 60 s, peak RSS < 200 MB",
            f"**{_median(seconds):.1f} s** {_each(seconds, '{:.1f}')}, peak RSS {max(rss):.0f} MB", str(len(runs)))


def _pdf(docs: list[dict]) -> list[tuple]:
    one = [d["figures"]["one_pdf_ms"]["median"] for d in docs]
    rows = [("6. one invoice PDF", "< 500 ms", f"**{_median(one):.0f} ms** {_each(one)}")]
    for key in docs[-1]["figures"]["register_1000"]:
        values = [d["figures"]["register_1000"][key]["median_s"] for d in docs if key in d["figures"]["register_1000"]]
        rows.append((f"6. PDF register, 1,000 invoices ({key})", "< 20 s", f"**{_median(values):.1f} s** {_each(values, '{:.1f}')}"))
    return rows


def rows(count: int = 3) -> list[tuple[str, str, str, str, str]]:
    out = []
    for name, build in (("bench_generation", _generation), ("bench_autocharge", _autocharge), ("bench_lists", _lists),
                        ("bench_webhooks", _webhooks), ("bench_csv", _csv), ("bench_pdf", _pdf)):
        docs = _runs(name, count)
        if not docs:
            continue
        built = build(docs)
        for row in built if isinstance(built, list) else [built]:
            runs = row[3] if len(row) > 3 else str(len(docs))  # CSV: three downloads in one invocation
            out.append((*row[:3], runs, _loads(docs)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="median of this many most recent runs (default 3)")
    args = parser.parse_args()
    print("| benchmark | target | measured: median (each run) | runs | load avg at end |")
    print("|---|---|---|---|---|")
    for row in rows(args.runs):
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
