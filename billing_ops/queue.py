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
