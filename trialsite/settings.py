"""trialsite settings, read from the environment only (architecture.md §7; README "Configuration").

The zero-setup default is SQLite under ``var/`` and eager Celery tasks, so ``make run`` works on a
fresh machine. Operators switch to PostgreSQL, Redis and a separate worker with ``DATABASE_URL``,
``REDIS_URL`` and ``CELERY_BROKER_URL``. ``DJANGO_ENV=production`` turns on every deployment
safeguard and must pass ``manage.py check --deploy --fail-level WARNING``.

Study-specific clinical choices (rule settings, dose levels, DLT criteria, visit windows) are
*not* here: they are data on the Study, validated, versioned and audited.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from trialsite import __version__
from trialsite.env import env_bool, env_choice, env_int, env_list, env_secret, env_str
from trialsite.secret_rules import (
    DEVELOPMENT_AUDIT_ANCHOR_KEY,
    DEVELOPMENT_SECRET_KEY,
    public_secret_reason,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TRIALSITE_VAR_DIR") or BASE_DIR / "var")

DJANGO_ENV = env_choice("DJANGO_ENV", "development", ("development", "test", "production"))
PRODUCTION = DJANGO_ENV == "production"
TRIALSITE_VERSION = __version__

# --- Secrets and hosts -------------------------------------------------------------------------
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DJANGO_ENV=production "
            "(set SECRET_KEY or SECRET_KEY_FILE to at least 50 random characters)."
        )
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
elif PRODUCTION and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters in production.")
elif PRODUCTION and (_reason := public_secret_reason(SECRET_KEY)):
    raise ImproperlyConfigured(
        f"SECRET_KEY is refused in production: {_reason}. Generate one with: "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

# The key of the audit anchors' HMAC (trialsite.records.anchors). Never stored in the database:
# whoever can rewrite the audit tables still cannot forge an anchor without it.
AUDIT_ANCHOR_KEY = env_secret("AUDIT_ANCHOR_KEY")
if not AUDIT_ANCHOR_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "AUDIT_ANCHOR_KEY is required when DJANGO_ENV=production "
            "(set AUDIT_ANCHOR_KEY or AUDIT_ANCHOR_KEY_FILE to at least 32 random characters)."
        )
    AUDIT_ANCHOR_KEY = DEVELOPMENT_AUDIT_ANCHOR_KEY
elif PRODUCTION and len(AUDIT_ANCHOR_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_ANCHOR_KEY must be at least 32 characters in production.")
elif PRODUCTION and (_reason := public_secret_reason(AUDIT_ANCHOR_KEY)):
    raise ImproperlyConfigured(
        f"AUDIT_ANCHOR_KEY is refused in production: {_reason}. Generate one with: "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
    )

# Demo data (``manage.py seed_demo``: known logins with a published password) only when asked:
# ``make run`` asks by default; production never does (issue 9 §4).
DEMO = env_bool("DEMO", default=False)
if PRODUCTION and DEMO:
    raise ImproperlyConfigured(
        "DEMO=true is refused when DJANGO_ENV=production: demo logins have a published password."
    )

DEBUG = env_bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be false when DJANGO_ENV=production.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when DJANGO_ENV=production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- Applications ------------------------------------------------------------------------------
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
    "django_filters",
    "drf_spectacular",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "csp",
    # The study platform (lowest layers first, docs/architecture.md §2).
    "trialsite.studies",
    "trialsite.records",
    "trialsite.api",
    # Clinical apps.
    "enrollment",
    "safety",
    "dosing",
    "efficacy",
    # The top floor: pages and hooks that combine apps (docs/architecture.md §2).
    "trialsite.dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "trialsite.permissions_policy.PermissionsPolicyMiddleware",
    "trialsite.studies.middleware.CurrentStudyMiddleware",
    # Last, so it sees authentication failures from every backend.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trialsite.urls"
WSGI_APPLICATION = "trialsite.wsgi.application"
ASGI_APPLICATION = "trialsite.asgi.application"

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
                "trialsite.context_processors.platform",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------------
_DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'trialsite.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL") or _DEFAULT_DATABASE_URL
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unknown scheme is reported below, in one line
        _db = environ.Env.db_url_config(DATABASE_URL)
except Exception as exc:  # noqa: BLE001 - django-environ raises several types here
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if not _db.get("ENGINE"):
    raise ImproperlyConfigured(f"DATABASE_URL has an unknown scheme: {DATABASE_URL.split(':')[0]}")
_db["ATOMIC_REQUESTS"] = False
_db["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0, minimum=0)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Wait for a write lock instead of failing at once when the worker and web share the file.
    _db.setdefault("OPTIONS", {})["timeout"] = 20
else:
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DATABASES = {"default": _db}
# PostgreSQL runs with two roles (README "Database roles"): DATABASE_URL is the application role,
# which owns nothing and may not UPDATE/DELETE/TRUNCATE audit rows; MIGRATION_DATABASE_URL is the
# owner role, used only by `manage.py migrate` (alias "owner"). Give it only to the migrate step.
MIGRATION_DATABASE_URL = env_str("MIGRATION_DATABASE_URL")
if MIGRATION_DATABASE_URL:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _owner = environ.Env.db_url_config(MIGRATION_DATABASE_URL)
    except Exception as exc:  # noqa: BLE001 - django-environ raises several types here
        raise ImproperlyConfigured(
            f"MIGRATION_DATABASE_URL is not a valid database URL: {exc}"
        ) from None
    if _owner.get("ENGINE") != _db["ENGINE"] or _owner.get("NAME") != _db["NAME"]:
        raise ImproperlyConfigured(
            "MIGRATION_DATABASE_URL must name the same database as DATABASE_URL "
            "(only the role differs)."
        )
    _owner["ATOMIC_REQUESTS"] = False
    _owner["CONN_MAX_AGE"] = 0
    _owner["OPTIONS"] = dict(_db.get("OPTIONS", {}))
    _owner["TEST"] = {"MIRROR": "default"}
    DATABASES["owner"] = _owner
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (and the recompute coalescing keys) -------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "trialsite"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or None
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Seconds a burst of saves is gathered before one recompute runs (DESIGN.md §5.3).
RECOMPUTE_COALESCE_SECONDS = env_int("RECOMPUTE_COALESCE_SECONDS", 2, minimum=0)
# Seconds between beat sweeps that re-enqueue studies whose derived state is older than their data
# (a lost task, a dead worker: DESIGN.md §5.5, issue 9 §3).
RECOMPUTE_SWEEP_SECONDS = env_int("RECOMPUTE_SWEEP_SECONDS", 60, minimum=1)
# Reliability (issue 9 §3): a task is acknowledged only after it ran, and re-queued when its worker
# process is lost; prefetch one, so a dying worker holds at most one unacknowledged task.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
# Redis redelivers a task nobody acknowledged within this time: sized to the longest task (its
# hard limit, plus the coalescing countdown and a minute's margin), so a running task is never
# delivered twice and one lost with a killed worker comes back in minutes, not hours. Lost
# recomputes come back sooner still: the sweep takes over their pending key.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + RECOMPUTE_COALESCE_SECONDS + 60
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "trialsite"
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # architecture.md §5.5: a lost task or a dead worker cannot leave a stale decision standing.
    "sweep-stale-studies": {
        "task": "trialsite.records.tasks.sweep_stale_studies",
        "schedule": timedelta(seconds=RECOMPUTE_SWEEP_SECONDS),
    },
    # Issue 9 §1: each study's audit head, sealed with AUDIT_ANCHOR_KEY, to a table and the log.
    "anchor-audit-heads": {
        "task": "trialsite.records.audit_tasks.anchor_audit_heads",
        "schedule": timedelta(minutes=env_int("AUDIT_ANCHOR_MINUTES", 60, minimum=1)),
    },
    # Issue 11: open DLT windows are re-evaluated as the days pass, so at Day 28 + grace the
    # subject's evaluation completes without a save (safety/tasks.py). Hourly: a new study day
    # starts at midnight in the site's zone, not the server's.
    "close-dlt-windows": {
        "task": "safety.tasks.close_dlt_windows",
        "schedule": timedelta(minutes=env_int("DLT_WINDOW_SWEEP_MINUTES", 60, minimum=1)),
    },
    # Issue 11: an SAE clock that becomes overdue notifies once (safety/sae_tasks.py).
    "check-sae-clocks": {
        "task": "safety.sae_tasks.check_sae_clocks",
        "schedule": timedelta(minutes=env_int("SAE_CLOCK_CHECK_MINUTES", 5, minimum=1)),
    },
}
# /healthz answers 503 when a broker is configured and the newest worker heartbeat is older.
WORKER_HEARTBEAT_MAX_AGE_SECONDS = 60

# --- Authentication and sessions ---------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True  # the 30 minutes count from the last request (idle timeout)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 30, minimum=1))
# Lock per account, not per IP address: a hospital's staff often share one NAT address, and an
# IP lockout would lock out the whole site (this is why axes.W006 is silenced below).
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# --- Security (production) ---------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy in every environment, so the test suite catches an inline script: only
# trialsite's own files run or style the page (no inline <script>, on…= handler or style=; the
# study switcher's handler lives in static/js/trialsite.js). Bootstrap draws its icons as data:
# SVGs in its CSS, hence img-src data:.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Permissions-Policy (trialsite.permissions_policy): no browser feature an EDC does not use.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
}
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")  # the site's zone; stored times are UTC
USE_I18N = True
USE_TZ = True

# --- Static files (served locally by WhiteNoise; never from a CDN) -----------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Forms -------------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- REST API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Basic first: its WWW-Authenticate makes an unauthenticated call 401, not 403 (issue 9 §4).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "trialsite.api.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Bodies too large or nested too deep are a JSON 413/400, never a 500.
    "DEFAULT_PARSER_CLASSES": [
        "trialsite.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "trialsite.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "trialsite.api.exceptions.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "trialsite API",
    "DESCRIPTION": "Electronic data capture for dose-escalation cell-therapy trials.",
    "VERSION": __version__,
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema maps every endpoint: only signed-in users may read it (issue 9 §4).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # One enum for a choice set several fields share (the AE's two relationship fields).
    "ENUM_NAME_OVERRIDES": {"RelatednessEnum": "safety.models.adverse_events.Relatedness"},
}

# --- Logging: one line per event, to stderr ----------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["stderr"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Email: notices that matter (trialsite.records.notifications) ------------------------------
# The console in development; SMTP as soon as EMAIL_HOST is set (README "Configuration").
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "trialsite <trialsite@localhost>")
# The address users reach the site at, for links in emails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
