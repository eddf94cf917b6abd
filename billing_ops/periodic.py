"""Writes the CONTRACT §9 schedule into django-celery-beat's tables after migrate.

Existing rows are left alone so that staff edits in the database survive upgrades; a task
whose code does not exist yet is skipped (so beat never sends an unregistered task).
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def _task_exists(path: str) -> bool:
    try:
        import_string(path)
    except ImportError:
        return False
    return True


def sync_periodic_tasks() -> list[str]:
    """Create missing PeriodicTask rows for BILLING_PERIODIC_TASKS; returns the names created."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    created = []
    for name, spec in settings.BILLING_PERIODIC_TASKS.items():
        if not _task_exists(spec["task"]) or PeriodicTask.objects.filter(name=name).exists():
            continue
        cron = spec["schedule"]
        schedule, _ = CrontabSchedule.objects.get_or_create(
            minute=cron._orig_minute,
            hour=cron._orig_hour,
            day_of_week=cron._orig_day_of_week,
            day_of_month=cron._orig_day_of_month,
            month_of_year=cron._orig_month_of_year,
            timezone="UTC",
        )
        PeriodicTask.objects.create(name=name, task=spec["task"], crontab=schedule)
        created.append(name)
    return created


@receiver(post_migrate)
def _sync_after_migrate(sender, **kwargs):
    if sender.label != "billing":
        return
    from django.db import connection

    if "django_celery_beat_periodictask" not in connection.introspection.table_names():
        return
    created = sync_periodic_tasks()
    if created:
        logger.info("Scheduled periodic tasks: %s", ", ".join(created))
