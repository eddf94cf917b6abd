"""Settings profiles, the broker, the beat schedule and demo data."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "billing_ops.settings_production",
        "SECRET_KEY": "x" * 30 + "-production-secret-key-with-enough-entropy-0123456789",
        "FIELD_ENCRYPTION_KEY": "3Yx1Yq0PZ2rN8i2I1lY6n9v5Yy1lJ8eY4m5QvYk3Z0o=",
        "ALLOWED_HOSTS": "billing.example.com",
        "BILLING_OPS_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_secrets(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY")}
    env.update(DJANGO_SETTINGS_MODULE="billing_ops.settings_production", ALLOWED_HOSTS="x.example", BILLING_OPS_VAR_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_a_task_travels_through_the_configured_broker_to_a_worker():
    """Filesystem broker locally, Redis in CI: a real worker consumes a real message."""
    from celery.contrib.testing.worker import start_worker

    from billing_ops.celery import app
    from billing_ops.tasks import heartbeat

    token = uuid.uuid4().hex
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        heartbeat.delay(token)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and cache.get(f"heartbeat:{token}") is None:
            time.sleep(0.1)
    assert cache.get(f"heartbeat:{token}") is not None


@pytest.mark.django_db
def test_periodic_tasks_are_scheduled_for_tasks_that_exist(settings):
    from django_celery_beat.models import PeriodicTask

    from billing_ops.periodic import sync_periodic_tasks

    PeriodicTask.objects.all().delete()
    settings.BILLING_PERIODIC_TASKS = {
        **settings.BILLING_PERIODIC_TASKS,
        "heartbeat": {"task": "billing_ops.tasks.heartbeat", "schedule": settings.BILLING_PERIODIC_TASKS["outbound deliveries"]["schedule"]},
        "missing": {"task": "nowhere.tasks.nothing", "schedule": settings.BILLING_PERIODIC_TASKS["outbound deliveries"]["schedule"]},
    }
    created = sync_periodic_tasks()
    assert "heartbeat" in created and "missing" not in created
    task = PeriodicTask.objects.get(name="heartbeat")
    assert task.crontab.minute == "*" and str(task.crontab.timezone) == "UTC"
    task.enabled = False
    task.save()
    assert sync_periodic_tasks() == []  # staff edits survive
    assert not PeriodicTask.objects.get(name="heartbeat").enabled


@pytest.mark.django_db
def test_seed_demo_creates_one_user_per_role_and_is_guarded(capsys):
    from django.contrib.auth import get_user_model

    from accounts.models import Tenant

    call_command("seed_demo")
    out = capsys.readouterr().out
    for name in ("super_admin", "billing", "onboarding"):
        assert name in out
    users = get_user_model().objects.prefetch_related("groups")
    assert sorted(g.name for u in users for g in u.groups.all()) == ["billing", "onboarding", "super_admin"]
    assert Tenant.objects.count() >= 10
    call_command("seed_demo", "--if-empty")  # second run: nothing happens
    assert get_user_model().objects.count() == 3


def test_unknown_api_path_is_json_and_unknown_screen_is_html(client):
    api = client.get("/api/nothing-here/")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    screen = client.get("/nothing-here/")
    assert screen.status_code == 404 and screen["Content-Type"].startswith("text/html")
