"""Shared fixtures. Factories live in tests/factories.py; app-specific fixtures in tests/<app>/conftest.py."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from billing_ops.access import BILLING, ONBOARDING, SUPER_ADMIN

# One definition of the browser fixtures for the whole suite: a single Chromium per session.
pytest_plugins = ["tests.browser_fixtures"]


def pytest_report_header(config):
    from django.conf import settings
    from django.db import connection

    broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
    return [f"database vendor: {connection.vendor} ({settings.DATABASES['default']['ENGINE']}), celery broker: {broker}"]


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _forget_process_caches():
    """Process-local caches must not carry one test's configuration into the next (rolled back) one."""
    from payments.webhooks import forget_secret

    forget_secret()
    yield
    forget_secret()


@pytest.fixture
def super_admin(db):
    from tests.factories import StaffFactory

    return StaffFactory(role=SUPER_ADMIN, username="root-admin")


@pytest.fixture
def billing_user(db):
    from tests.factories import StaffFactory

    return StaffFactory(role=BILLING, username="billing-staff")


@pytest.fixture
def onboarding_user(db):
    from tests.factories import StaffFactory

    return StaffFactory(role=ONBOARDING, username="onboarding-staff")


@pytest.fixture
def users_by_role(super_admin, billing_user, onboarding_user):
    return {SUPER_ADMIN: super_admin, BILLING: billing_user, ONBOARDING: onboarding_user}


@pytest.fixture
def api(billing_user):
    """An API client signed in as billing staff."""
    client = APIClient()
    client.force_authenticate(billing_user)
    return client


def api_client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def actor(billing_user):
    return billing_user
