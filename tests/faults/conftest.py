"""Fixtures of the fault and race tests (issue 7): the fake Paystack of tests/payments, a world of
objects behind every URL (the access matrix's), and switches that break Redis or the broker."""
from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from django.db import connection

from tests.payments.conftest import (  # noqa: F401 — fixtures shared with the payments tests
    FAKE_SECRET,
    eager_tasks,
    fake_paystack,
    paystack,
    signed_post,
)

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: real row locks, concurrent connections, a second process on the test database, pg_terminate_backend",
)

DEAD_REDIS = "redis://127.0.0.1:1/0"  # port 1: connection refused at once


@pytest.fixture
def world(users_by_role):
    """Every object the URL patterns need (built by each app's tests/<app>/access.py)."""
    from tests.access_rules import build_world

    state = SimpleNamespace(users={role: user for role, user in users_by_role.items()})
    build_world(state)
    return state


@contextmanager
def dead_broker():
    """Point the Celery app at a port where nothing listens; restore it (and its pools) on exit."""
    from billing_ops.celery import app

    with celery_overrides(app, broker_url=DEAD_REDIS, task_always_eager=False):
        yield app


@contextmanager
def celery_overrides(app, **values):
    """Change Celery settings (and drop the connection pools) for a while; afterwards remove the
    overrides instead of writing old values back, which would shadow the CELERY_* Django settings."""
    saved_changes = {key: app.conf.changes[key] for key in values if key in app.conf.changes}
    saved_pools = app._pool, app.amqp._producer_pool
    app.conf.update(values)
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield app
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        for key in values:
            app.conf.changes.pop(key, None)
        app.conf.changes.update(saved_changes)
        app._pool, app.amqp._producer_pool = saved_pools


@contextmanager
def dead_cache():
    """Django's cache on a Redis that is not there."""
    from django.core.cache import cache
    from django.test import override_settings

    dead = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS}}
    with override_settings(CACHES=dead):
        with pytest.raises(Exception):  # noqa: B017 — whatever redis-py raises, the cache is really down
            cache.get("probe")
        yield


@contextmanager
def redis_down():
    with dead_broker(), dead_cache():
        yield


@contextmanager
def hung_redis():
    """A TCP port that accepts connections (kernel backlog) but never answers: a frozen Redis.
    Yields its redis:// URL."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()
