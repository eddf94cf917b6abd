"""Cache reads and writes that never break a page or a task when the cache server (Redis) is down.

The cache only ever holds conveniences (the last auto-charge summary, a heartbeat); losing one is
fine, failing the request or the task that wanted it is not.
"""
from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def cache_get(key: str, default=None):
    try:
        return cache.get(key, default)
    except Exception:  # redis.ConnectionError, TimeoutError, OSError…
        logger.warning("Cache unavailable; reading %s as missing", key, exc_info=True)
        return default


def cache_set(key: str, value, timeout=None) -> bool:
    try:
        cache.set(key, value, timeout=timeout)
    except Exception:
        logger.warning("Cache unavailable; %s not stored", key, exc_info=True)
        return False
    return True
