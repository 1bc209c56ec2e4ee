"""Gatehouse settings: everything comes from the environment (see the table in README.md)."""

from __future__ import annotations

import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.embedded import EmbeddedServiceError, data_dir_from_env, embedded_urls
from config.env import env_bool, env_int, env_int_list, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir_from_env()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Development mode is the default only for the self-contained setup (`make run`, `make test`: no
# DATABASE_URL, so the embedded servers start). A deployment names its database, and then forgetting
# DEBUG=0 must not leave tracebacks and a generated secret key in production.
DEBUG = env_bool("DEBUG", not env_str("DATABASE_URL"))
# What the process was started as. Development conveniences that would be dangerous in production
# (demo accounts with printed passwords, a ledger key generated on the spot) follow this rather
# than DEBUG, which test runners switch off inside a development setup.
GATEHOUSE_DEV_MODE = DEBUG


def _secret_key() -> str:
    key = env_secret("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is unset and DEBUG=0 (the default once DATABASE_URL is set): set "
                                   "SECRET_KEY (or SECRET_KEY_FILE), or DEBUG=1 for development.")
    # Development only: generate once and keep it, so sessions survive restarts.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

_database_url = env_str("DATABASE_URL")
_redis_url = env_str("REDIS_URL")
if not _database_url or not _redis_url:
    try:
        _embedded = embedded_urls(DATA_DIR, need_db=not _database_url, need_redis=not _redis_url)
    except EmbeddedServiceError as exc:
        sys.exit(f"gatehouse: {exc}")
    _database_url = _database_url or _embedded["database"]
    _redis_url = _redis_url or _embedded["redis"]

if not _database_url.startswith(("postgres://", "postgresql://")):
    raise ImproperlyConfigured(
        f"DATABASE_URL must be a PostgreSQL URL (postgresql://user:pass@host:5432/db); got {_database_url!r}. "
        "Gatehouse's checkpoint path is Postgres-specific: there is no SQLite mode."
    )
DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)}
# Django turns psycopg's server-side prepared statements off (for transaction-mode poolers). Its own
# queries stay client-bound and unprepared either way; this lets the hot path (orchestrator.commit.
# execute_prepared: the step commit, budget reserve/settle) plan its statements once per connection
# instead of on every step. Behind a pooler without prepared-statement support (PgBouncer < 1.21 in
# transaction mode) set GATEHOUSE_DB_PREPARE=0.
if env_bool("GATEHOUSE_DB_PREPARE", True):
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
REDIS_URL = _redis_url

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    # Lets django-ninja render /api/docs from the Swagger UI files it ships (ninja/static/ninja/,
    # served by whitenoise) instead of its CDN template, which is blank offline.
    "ninja",
    "django_rq",
    "axes",
    "orchestrator",
    "review",
    "audit",
]

MIDDLEWARE = [
    # First: load balancers probe /healthz by the instance's address, which is in no ALLOWED_HOSTS.
    "config.middleware.HealthzAnyHost",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication (the start page takes a run-input-sized body from those who may start runs);
    # before anything reads the body.
    "config.middleware.FormSizeLimit",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.WorkflowModulesBroken",
    # Last, as django-axes requires: it answers a locked-out sign-in with the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Sign-in throttling (django-axes): after GATEHOUSE_LOGIN_FAILURES failed attempts for one username
# from one address, that pair is paused for GATEHOUSE_LOGIN_COOLOFF_MINUTES (username *and* address,
# so nobody can lock a colleague out from elsewhere); after GATEHOUSE_LOGIN_ADDRESS_FAILURES from one
# address, whatever the usernames (credential stuffing), that address is (config.sign_in_limits).
# API tokens do not sign in and are not throttled.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
GATEHOUSE_LOGIN_FAILURES = env_int("GATEHOUSE_LOGIN_FAILURES", 5, minimum=1)
GATEHOUSE_LOGIN_ADDRESS_FAILURES = env_int("GATEHOUSE_LOGIN_ADDRESS_FAILURES", 30, minimum=1)
if GATEHOUSE_LOGIN_ADDRESS_FAILURES <= GATEHOUSE_LOGIN_FAILURES:
    # Otherwise one person's mistyped passwords pause their whole address (everyone behind an office's
    # one address) no later than their own username, and nothing would say why.
    raise ImproperlyConfigured(
        f"GATEHOUSE_LOGIN_ADDRESS_FAILURES={GATEHOUSE_LOGIN_ADDRESS_FAILURES} is not above GATEHOUSE_LOGIN_FAILURES="
        f"{GATEHOUSE_LOGIN_FAILURES}: one person's failed sign-ins would pause everyone at their address by the time "
        f"their own username is paused. Set GATEHOUSE_LOGIN_ADDRESS_FAILURES above {GATEHOUSE_LOGIN_FAILURES} "
        "(the defaults are 30 and 5), or lower GATEHOUSE_LOGIN_FAILURES.")
AXES_FAILURE_LIMIT = "config.sign_in_limits.failure_limit"
AXES_COOLOFF_TIME = timedelta(minutes=env_int("GATEHOUSE_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The pause runs from the failure that started it: a try during the pause does not restart it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Failed attempts are what throttling needs; a row per successful sign-in would grow without end.
AXES_DISABLE_ACCESS_LOG = True
# Behind N proxies (a load balancer: 1) the client's address comes from X-Forwarded-For; without it
# every client would share the balancer's address and a username would be paused for everyone.
GATEHOUSE_TRUSTED_PROXIES = env_int("GATEHOUSE_TRUSTED_PROXIES", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "orchestrator.roles.navigation",
            ],
        },
    },
]

# Django's standard set (applied wherever a password is chosen: admin, changepassword).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STORAGES = {
    # Content-addressed blobs: filesystem under the data dir by default; any django-storages
    # backend (S3, GCS, Azure) can be configured in its place.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "blobs")},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
# HTTPS hardening for deployments behind TLS: opt-in, because HSTS cannot be taken back from
# browsers that saw it, and the proxy header must only be trusted behind a proxy that sets it.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Plain-HTTP health probes are never redirected: config.middleware.HealthzAnyHost answers /healthz
# before SecurityMiddleware sees it.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts only from our own static files, so text that reaches a
# page from an LLM or a user, if escaping ever failed, still could not run. No page has an inline
# script or handler, and nothing needs eval (charts travel as JSON data blocks drawn by
# static/js/charts.js; the inbox's refresh filter is static/js/inbox.js). Styles allow inline:
# plotly.js, htmx and Swagger UI set style attributes and add <style> elements as they draw.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(DATA_DIR / "outbox")
# For EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend: the relay, read like every setting.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:  # Django would only say so at the first send, in a worker's log
    raise ImproperlyConfigured("EMAIL_USE_TLS (STARTTLS, usually port 587) and EMAIL_USE_SSL (implicit TLS, "
                               "usually port 465) exclude each other: set one.")
# Django waits for a mail server for ever by default. Mail is sent by worker jobs (new-item
# notifications, cost alerts, the demo outbox) and by the reconciler, so one server that accepts
# connections and never answers would stall them all.
EMAIL_TIMEOUT = env_int("GATEHOUSE_EMAIL_TIMEOUT_SECONDS", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "gatehouse@localhost")

RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600},
}
RQ = {"COMMIT_MODE": "on_db_commit"}
RQ_SHOW_ADMIN_LINK = False

# --- Gatehouse -----------------------------------------------------------------------------------
GATEHOUSE_WORKFLOWS = env_list(
    "GATEHOUSE_WORKFLOWS",
    [
        "orchestrator.demo.email_approval",
        "orchestrator.demo.document_pipeline",
        "orchestrator.demo.research_agent",
    ],
)
GATEHOUSE_LEASE_SECONDS = env_int("GATEHOUSE_LEASE_SECONDS", 30, minimum=2)
GATEHOUSE_STEP_CAP = env_int("GATEHOUSE_STEP_CAP", 200, minimum=1)
# One budget hold covers up to this many calls' maximum cost of a worker job (1: a hold per call).
# Far from a cap a larger hold costs other runs nothing; near one, the quarter-of-headroom rule
# (orchestrator.budgets) sets its size, so this mostly decides how many round trips a long job pays.
GATEHOUSE_BUDGET_ALLOWANCE_CALLS = env_int("GATEHOUSE_BUDGET_ALLOWANCE_CALLS", 16, minimum=1)
GATEHOUSE_SNAPSHOT_EVERY = env_int("GATEHOUSE_SNAPSHOT_EVERY", 50, minimum=1)
GATEHOUSE_BLOB_THRESHOLD = env_int("GATEHOUSE_BLOB_THRESHOLD", 64 * 1024, minimum=1024)
GATEHOUSE_MAX_INPUT_BYTES = env_int("GATEHOUSE_MAX_INPUT_BYTES", 16 * 1024 * 1024, minimum=1024)
GATEHOUSE_API_TOKEN_DAYS = env_int("GATEHOUSE_API_TOKEN_DAYS", 90, minimum=0)  # 0: tokens never expire
# An API request may carry a whole input plus its envelope (workflow, labels): without this,
# Django's 2.5 MB default would refuse an input the limit above allows, with a bare 400. Pages keep
# an ordinary form limit (config.middleware.FormSizeLimit).
DATA_UPLOAD_MAX_MEMORY_SIZE = GATEHOUSE_MAX_INPUT_BYTES + 256 * 1024
GATEHOUSE_FORM_MAX_BYTES = env_int("GATEHOUSE_FORM_MAX_BYTES", 2_621_440, minimum=1024)
GATEHOUSE_RECONCILE_SECONDS = env_int("GATEHOUSE_RECONCILE_SECONDS", 10, minimum=1)
# Review inbox: how long a claim keeps others out; where "new item" notifications go.
GATEHOUSE_CLAIM_SECONDS = env_int("GATEHOUSE_CLAIM_SECONDS", 15 * 60, minimum=1)
GATEHOUSE_REVIEW_EMAIL_ENABLED = env_bool("GATEHOUSE_REVIEW_EMAIL_ENABLED", True)
GATEHOUSE_REVIEW_WEBHOOK_URL = env_str("GATEHOUSE_REVIEW_WEBHOOK_URL", "") or ""
# Notifications (review items, cost alerts; orchestrator.deliveries): the waits, in minutes, before
# each retry of a webhook that failed (or an e-mail the server deferred); after the last, it is
# given up. The default spreads 8 attempts over about a day and a half.
GATEHOUSE_NOTIFY_RETRY_MINUTES = env_int_list("GATEHOUSE_NOTIFY_RETRY_MINUTES", [1, 5, 30, 120, 360, 720, 1440],
                                              minimum=1)
# How long a notification webhook's POST waits for the receiver's answer (a worker or the reconciler waits).
GATEHOUSE_WEBHOOK_TIMEOUT_SECONDS = env_int("GATEHOUSE_WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1)
# Days a sent or failed notification stays in the outbox (admin → Deliveries) before the reconciler
# deletes it; 0 keeps them all. At most 100 years, as for retention: more is a typo.
GATEHOUSE_DELIVERY_KEEP_DAYS = env_int("GATEHOUSE_DELIVERY_KEEP_DAYS", 90, minimum=0, maximum=36_500)
# Absolute links in notifications (emails and webhooks are read outside the browser).
# `make run` serves on $PORT: links in e-mails follow it unless the real address is set.
GATEHOUSE_BASE_URL = (env_str("GATEHOUSE_BASE_URL", f"http://127.0.0.1:{env_int('PORT', 8000, minimum=1)}")
                      or "").rstrip("/")
# Costs: how long each process caches the price table and each node's spend norm (anomaly alerts).
GATEHOUSE_PRICE_CACHE_SECONDS = env_int("GATEHOUSE_PRICE_CACHE_SECONDS", 5, minimum=0)
GATEHOUSE_ANOMALY_CACHE_SECONDS = env_int("GATEHOUSE_ANOMALY_CACHE_SECONDS", 60, minimum=0)

# Ledger seals: a copy of every signed tree head goes outside the database (a directory and/or a
# webhook), so deleting the newest ledger rows together with their seal rows is still detected.
GATEHOUSE_SEAL_DIR = Path(env_str("GATEHOUSE_SEAL_DIR", "") or DATA_DIR / "seals")
GATEHOUSE_SEAL_WEBHOOK_URL = env_str("GATEHOUSE_SEAL_WEBHOOK_URL", "") or ""
GATEHOUSE_SEAL_SECONDS = env_int("GATEHOUSE_SEAL_SECONDS", 60, minimum=1)
# Entries in one seal at most: sealing holds a seal's range in memory (its consistency proof), so a
# backlog is sealed in several seals of this size.
GATEHOUSE_SEAL_MAX_ENTRIES = env_int("GATEHOUSE_SEAL_MAX_ENTRIES", 100_000, minimum=1)
# Retention of finished runs, per workflow (audit RetentionPolicy rows); this is the default.
GATEHOUSE_RETENTION_DAYS = env_int("GATEHOUSE_RETENTION_DAYS", 400, minimum=183)
# A development setup (DEBUG=1) generates a ledger key under the data dir when none is configured; this
# asks it to refuse as a deployment does (audit.sealing.dev_key_allowed). Read like every flag, so "on" is
# on and a typo stops the process instead of quietly leaving key generation allowed.
GATEHOUSE_LEDGER_KEY_REQUIRED = env_bool("GATEHOUSE_LEDGER_KEY_REQUIRED", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusal_without_traceback": {"()": "config.log_filters.RefusalWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    "loggers": {
        "gatehouse": {"level": env_str("GATEHOUSE_LOG_LEVEL", "INFO"), "propagate": True},
        "django.request": {"filters": ["refusal_without_traceback"]},
    },
}
