"""Settings, configured by environment variables with working defaults.

Defaults are the embedded profile: SQLite under ``var/`` and a filesystem Celery broker,
so the app runs on a fresh machine with no servers. ``DATABASE_URL=postgres://…`` and
``REDIS_URL=redis://…`` switch the same code to PostgreSQL and Redis.
``billing_ops.settings_production`` tightens everything for deployment.
"""
from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BILLING_OPS_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-insecure-secret-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Public base URL of this console, used for links in emails and the webhook URL shown to staff.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_filters",
    "django_celery_beat",
    "guardian",
    "axes",
    "billing_ops",
    "accounts",
    "subscriptions",
    "invoicing",
    "payments",
    "dunning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "billing_ops.request_context.RequestContextMiddleware",
    # Last, so that it sees the outcome of authentication for lockouts.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "billing_ops.urls"
WSGI_APPLICATION = "billing_ops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "billing_ops.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'billing_ops.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded profile runs web, worker and beat on one file: WAL lets readers and one
    # writer overlap, IMMEDIATE takes the write lock up front so transactions queue instead
    # of failing with "database is locked" half-way.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis when configured, else per-process memory --------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # Time-outs so that a hung or unreachable Redis fails fast instead of blocking a request (issue 7).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/billing/"
LOGOUT_REDIRECT_URL = "/login/"
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous has no object permissions

# Login throttling (django-axes): lock a username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# --- I18N -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Field encryption -----------------------------------------------------------------------
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotation: prepend a new key,
# run `manage.py rotate_field_encryption`, then drop the old key).
def _dev_field_key() -> str:
    digest = hashlib.sha256(("field-encryption:" + SECRET_KEY).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY") or [_dev_field_key()]

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "billing@billing-ops.local")

# --- Paystack -------------------------------------------------------------------------------
PAYSTACK_BASE_URL = os.environ.get("PAYSTACK_BASE_URL", "https://api.paystack.co").rstrip("/")
PAYSTACK_CONNECT_TIMEOUT = float(os.environ.get("PAYSTACK_CONNECT_TIMEOUT", "3.05"))
PAYSTACK_READ_TIMEOUT = float(os.environ.get("PAYSTACK_READ_TIMEOUT", "15"))
PAYSTACK_WEBHOOK_MAX_BYTES = 256 * 1024

# --- Seller details printed on invoices -----------------------------------------------------
SELLER = {
    "name": os.environ.get("SELLER_NAME", "Billing Ops Demo Ltd"),
    "address": os.environ.get("SELLER_ADDRESS", "12 Marina Road, Lagos, Nigeria"),
    "tax_id": os.environ.get("SELLER_TAX_ID", "TIN-00000000"),
    "email": os.environ.get("SELLER_EMAIL", "accounts@billing-ops.local"),
}

# --- DRF ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first, so an anonymous request is answered 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["billing_ops.access.HasCapability"],
    "DEFAULT_PAGINATION_CLASS": "billing_ops.api.pagination.ResultsCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "billing_ops.api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_RATES": {"login": "10/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "billing-ops API",
    "DESCRIPTION": "Subscriptions, invoices, payments, dunning and credit notes.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["billing_ops.access.HasCapability"],
}

# --- Celery ---------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # socket time-outs: publishing to a hung Redis fails in seconds (billing_ops.queue logs it and the
    # sweeps finish the work) instead of blocking the web request for minutes (issue 7).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_timeout": 2, "socket_connect_timeout": 2}
else:
    # Embedded broker: kombu's filesystem transport, a real transport that needs no server.
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The schedule of CONTRACT §9. `manage.py sync_periodic_tasks` (run by migrate via a signal)
# writes it into django-celery-beat's tables, where staff may then edit it.
BILLING_PERIODIC_TASKS = {
    "auto-charge due renewals": {"task": "payments.tasks.run_auto_charge", "schedule": crontab(minute=0)},
    "payment retries": {"task": "dunning.tasks.run_payment_retries", "schedule": crontab(minute=30, hour="*/6")},
    "invoice generation": {"task": "invoicing.tasks.generate_due_invoices", "schedule": crontab(minute=0, hour=1)},
    "subscription renewal": {"task": "subscriptions.tasks.renew_due_subscriptions", "schedule": crontab(minute=0, hour=0)},
    "overdue marking": {"task": "invoicing.tasks.mark_overdue_invoices", "schedule": crontab(minute=0, hour=2)},
    "suspension check": {"task": "dunning.tasks.run_suspension_check", "schedule": crontab(minute=15, hour=2)},
    "expiring-card alert": {"task": "dunning.tasks.send_expiring_card_alerts", "schedule": crontab(minute=0, hour=10, day_of_week=1)},
    "outbound deliveries": {"task": "billing_ops.tasks.deliver_outbox", "schedule": crontab()},
    # Analytics snapshots (issue 8): after renewals, invoicing and overdue marking have run.
    "analytics daily snapshot": {"task": "billing_ops.analytics.tasks.snapshot_daily", "schedule": crontab(minute=0, hour=3)},
    "analytics monthly snapshot": {"task": "billing_ops.analytics.tasks.snapshot_monthly", "schedule": crontab(minute=0, hour=4, day_of_month=1)},
    # Faults (issue 7): invoice emails whose task was lost while the broker was down.
    "trial and renewal notices": {"task": "subscriptions.tasks.send_upcoming_notices", "schedule": crontab(minute=0, hour=9)},
    "invoice email sweep": {"task": "invoicing.tasks.sweep_unsent_invoice_emails", "schedule": crontab(minute="*/15")},
}

# --- Product behaviour ----------------------------------------------------------------------
# Credit notes: require the approver to differ from the creator (four-eyes rule).
CREDIT_NOTE_REQUIRE_DIFFERENT_APPROVER = env_bool("CREDIT_NOTE_REQUIRE_DIFFERENT_APPROVER", True)
DEFAULT_PAYMENT_TERMS_DAYS = int(os.environ.get("DEFAULT_PAYMENT_TERMS_DAYS", "14"))
# Generated invoices are emailed to the tenant (with the PDF) as soon as they are issued.
INVOICE_EMAIL_ON_GENERATION = env_bool("INVOICE_EMAIL_ON_GENERATION", True)
# Invoice generation: the daily task queues one task per 500 due subscriptions so every worker process
# makes invoices at once (on), or makes them all itself (off).
INVOICE_GENERATION_FAN_OUT = env_bool("INVOICE_GENERATION_FAN_OUT", False)
# Queue of the invoice email tasks (PDF rendering): unset = Celery's default queue.
INVOICE_EMAIL_QUEUE = os.environ.get("INVOICE_EMAIL_QUEUE", "")
if INVOICE_EMAIL_QUEUE:
    CELERY_TASK_ROUTES = {"invoicing.tasks.send_invoice_email": {"queue": INVOICE_EMAIL_QUEUE},
                          "invoicing.tasks.send_invoice_emails": {"queue": INVOICE_EMAIL_QUEUE}}
LIST_PAGE_SIZE = 50

# --- Logging: never log request bodies (they may carry keys) --------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Task modules outside an app's tasks.py (autodiscovery finds only those): analytics snapshots (issue 8).
CELERY_IMPORTS = ("billing_ops.analytics.tasks",)

# Auto-charge: charging threads per run, each with its own database connection (issue 7 benchmarks).
PAYMENTS_AUTO_CHARGE_WORKERS = int(os.environ.get("PAYMENTS_AUTO_CHARGE_WORKERS", "16"))
