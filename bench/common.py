"""Shared plumbing for the benchmarks: Django set-up on PostgreSQL, fast COPY loading, timing, results.

Benchmarks are scripts, not tests: run them with `.venv/bin/python -m bench.<name>` from the
repository root with DATABASE_URL pointing at a PostgreSQL database you can fill (see bench/README.md).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_ops.settings")
    os.environ.setdefault("DEBUG", "false")  # DEBUG keeps every query in memory and renders debug pages
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("Benchmarks run on PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/billing_ops_bench")


@contextmanager
def timed(label: str, into: dict):
    started = time.perf_counter()
    yield
    into[label] = round(time.perf_counter() - started, 3)
    print(f"  {label}: {into[label]:.3f} s", flush=True)


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarise_ms(samples_s: list[float]) -> dict:
    ms = [s * 1000 for s in samples_s]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2), "p95_ms": round(percentile(ms, 95), 2),
            "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(max(ms), 2)}


def write_results(name: str, figures: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    payload = {"benchmark": name, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "load_average_1_5_15": [round(x, 1) for x in os.getloadavg()]}, "figures": figures}
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    # Every run is also appended to <name>.history.jsonl: bench.report takes the median of the last runs.
    with (RESULTS_DIR / f"{name}.history.jsonl").open("a") as history:
        history.write(json.dumps(payload, default=str) + "\n")
    print(f"==> {name}: {json.dumps(figures, default=str)}\n    written to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return path


# --- COPY loading -----------------------------------------------------------------------------

def reserve_ids(model, count: int) -> range:
    """Take ``count`` ids from the model's sequence so rows can be linked before they are loaded."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cur:
        cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        seq = cur.fetchone()[0]
        cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        start = max(cur.fetchone()[0], 0) + 1
        cur.execute("SELECT setval(%s, %s)", [seq, start + count])
    return range(start, start + count)


def copy_rows(model, rows, *, batch: int = 50_000) -> int:
    """Bulk-load dicts into ``model``'s table with COPY, filling every omitted field with its default."""
    from django.db import connection
    from django.utils import timezone

    fields = [f for f in model._meta.concrete_fields]
    columns = [f.column for f in fields]
    now = timezone.now()
    defaults = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        else:
            defaults[f.attname] = f.get_default()  # "" for text fields, None for nullable ones
    sql = f'COPY {model._meta.db_table} ({", ".join(columns)}) FROM STDIN'
    total = 0
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            values = []
            for f in fields:
                if f.attname in row:
                    value = row[f.attname]
                else:
                    value = row.get(f.name, defaults[f.attname])
                if isinstance(value, (dict, list)):
                    value = json.dumps(value)
                values.append(value)
            copy.write_row(values)
            total += 1
    return total


# --- helpers shared by the benchmark commands ------------------------------------------------

BENCH_PASSWORD = "bench-admin-2026-pw"


def bench_admin(username: str = "bench_admin"):
    """The super_admin the benchmarks log in as (created once)."""
    from django.contrib.auth import get_user_model

    from accounts.services import staff_user_create
    from billing_ops.actors import system

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        user = staff_user_create(username=username, email=f"{username}@bench.example", role="super_admin",
                                 password=BENCH_PASSWORD, actor=system("bench"))
    return user


def scalar(sql: str, params=None):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        row = cur.fetchone()
    return row[0] if row else None


def explain(sql: str, params=None) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) text of one query."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params or [])
        return "\n".join(r[0] for r in cur.fetchall())


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn serving the real WSGI app on loopback, for as long as the ``with`` block lasts."""

    def __init__(self, *, workers: int = 2, extra: list[str] | None = None, env: dict | None = None):
        self.workers, self.extra, self.env = workers, extra or [], env or {}
        self.port = free_port()
        self.process = None

    def __enter__(self):
        import socket
        import subprocess

        env = {**os.environ, "DEBUG": "false", **self.env}
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.process = subprocess.Popen(
            [str(gunicorn), "billing_ops.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--log-level", "warning", "--timeout", "300", *self.extra],
            cwd=Path(__file__).resolve().parent.parent, env=env)
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        return self

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def session_cookie(user) -> str:
    """A logged-in session for ``user`` as a Cookie header value (what a browser would send)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


BENCH_SECRET_KEY = "sk_test_" + "b3nch" * 8


def ensure_paystack() -> str:
    """Paystack configured in test mode with the benchmark's secret key; returns the key."""
    from payments.models import PaystackConfig
    from payments.services.config import payment_config_update

    if PaystackConfig.load().secret_key != BENCH_SECRET_KEY:
        payment_config_update(actor=bench_admin(), mode="test", test_secret_key=BENCH_SECRET_KEY,
                              test_public_key="pk_test_" + "b3nch" * 8)
    return BENCH_SECRET_KEY


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
