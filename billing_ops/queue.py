"""Sending work to Celery without letting a broker outage break the request or the transaction.

Every deferred job in billing-ops is also recoverable from the database (an unprocessed webhook
row, an undelivered outbox row, an invoice still due), and a periodic task sweeps those up. So
when the broker is down the web request still succeeds: we log and move on, and the sweeper
finishes the job once the broker is back.
"""
from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)

# Fail fast instead of kombu's default of retrying for seconds inside a web request.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def enqueue(task, *args, **kwargs) -> bool:
    """``task.apply_async`` now; False (logged) when the broker cannot take it."""
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception:  # the broker's errors vary by transport (OperationalError, ConnectionError, OSError…)
        logger.warning("Could not queue %s; the periodic sweep will pick the work up", getattr(task, "name", task), exc_info=True)
        return False
    return True


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Queue ``task`` once the current transaction commits (never for work that rolled back)."""
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))


# --- debounced wake-ups on the broker's Redis ------------------------------------------------------
# A stream of small jobs (webhook events) does not need one Celery message each: a flag on the
# broker's Redis says "a run is already queued", and only whoever sets it publishes. The task clears
# the flag before its last look for work, so a job stored after that sets it again and queues a run.
_redis_clients: dict[str, object] = {}


def broker_redis():
    """A redis-py client on the Celery broker's Redis, one per process and URL; None when tasks run
    eagerly or the broker is not Redis (the embedded filesystem broker)."""
    from billing_ops.celery import app

    url = app.conf.broker_url or ""
    if app.conf.task_always_eager or not url.startswith(("redis://", "rediss://")):
        return None
    client = _redis_clients.get(url)
    if client is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        options = app.conf.broker_transport_options or {}
        # The broker's time-outs and no retries (redis-py retries 3 times by default): a hung or dead
        # Redis costs one time-out and the caller falls back, instead of blocking the request (issue 7).
        client = redis.Redis.from_url(url, socket_timeout=options.get("socket_timeout", 2),
                                      socket_connect_timeout=options.get("socket_connect_timeout", 2),
                                      retry=Retry(NoBackoff(), 0))
        _redis_clients[url] = client
    return client


def enqueue_debounced(task, *, flag: str, ttl: int) -> bool:
    """Queue ``task`` unless a run is already pending (``SET flag NX EX ttl``; only the setter publishes).

    False when that cannot be done — tasks run eagerly, the broker is not Redis, Redis or the publish
    failed — so that the caller falls back to queuing its job on its own.
    """
    client = broker_redis()
    if client is None:
        return False
    try:
        if not client.set(flag, 1, nx=True, ex=ttl):
            return True  # a run is queued and has not cleared the flag yet: it will see this job
    except Exception:  # redis-py's ConnectionError/TimeoutError, OSError…
        logger.warning("Could not set the wake-up flag %s; queuing the job on its own", flag, exc_info=True)
        return False
    if enqueue(task):
        return True
    # No run was queued: the flag must not hold back the next wake-ups until it expires.
    clear_flag(flag)
    return False


def clear_flag(flag: str) -> None:
    """Delete a wake-up flag (a task does this before its last look for work); logged, never raised."""
    client = broker_redis()
    if client is None:
        return
    try:
        client.delete(flag)
    except Exception:
        logger.warning("Could not clear the wake-up flag %s; it expires by itself", flag, exc_info=True)


# --- retrying periodic tasks after a lost database connection (issue 7, faults) --------------------
# A batch task whose connection drops (PostgreSQL restart, fail-over, pg_terminate_backend) stops at
# once: the item in flight rolls back whole, the items before it are committed, and Celery retries
# the task soon (with backoff) instead of waiting for the next scheduled run. Every periodic task is
# idempotent, so the retry finishes exactly the work that is left. Django reconnects by itself:
# the failed transaction's rollback closes the broken connection.
def _db_connection_errors() -> tuple[type[BaseException], ...]:
    from django.db import InterfaceError, OperationalError

    return (OperationalError, InterfaceError)


DB_CONNECTION_ERRORS = _db_connection_errors()
DB_RETRY = {
    "autoretry_for": DB_CONNECTION_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}
