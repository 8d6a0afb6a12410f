"""Django settings, read from the environment.

Defaults give a working single machine: SQLite under data/ and a Celery
broker on the local filesystem, so `make run` needs no database or broker
server. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY and ALLOWED_HOSTS.
"""

import datetime
from pathlib import Path

from csp.constants import NONCE, NONE, SELF
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_int, env_list, env_str, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not ALLOWED_HOSTS and not DEBUG:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off, for example ALLOWED_HOSTS=traffic.example.com.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "accounts",
    "traffic",
    "benchmarks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.middleware.SessionRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.current_store",
                "accounts.context_processors.csp_nonce",
            ],
        },
    },
]

DATABASES = {
    "default": parse_database_url(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"), BASE_DIR
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A fresh checkout has no data folder yet.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The report's covering index INCLUDEs columns; SQLite builds it without them, which is fine
# for the single-machine default, so its warning is not shown.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "traffic:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTHENTICATION_BACKENDS = [
    # django-axes first, so a locked-out username and address pair never reaches the password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Days an invitation link stays valid; the password reset link uses PASSWORD_RESET_TIMEOUT.
INVITATION_MAX_AGE_DAYS = env_int("INVITATION_MAX_AGE_DAYS", 7, minimum=1)

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Simplified Chinese is the default; the browser's Accept-Language and the
# language switch pick English.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [
    ("zh-hans", _("Simplified Chinese")),
    ("en", _("English")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]

# Uploaded exports are kept under internal names in this folder.
UPLOAD_ROOT = Path(env_str("UPLOAD_ROOT", str(DATA_DIR / "uploads")))
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "traffic.upload_handlers.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("UPLOAD_MAX_FILES", 20, minimum=1)
# Limits checked by the importer before and while it reads a file.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 3_000_000, minimum=1)
# Visitor-details and canonical files with at least this many rows are staged in a temporary
# table and counted or written by the database (traffic.staging). Smaller ones stay in memory.
IMPORT_STAGE_ROWS = env_int("IMPORT_STAGE_ROWS", 50_000, minimum=0)
XLSX_MAX_UNCOMPRESSED_BYTES = env_int("XLSX_MAX_UNCOMPRESSED_BYTES", 300 * 1024 * 1024, minimum=1)
XLSX_MAX_ENTRIES = env_int("XLSX_MAX_ENTRIES", 500, minimum=1)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# Sessions end after this many seconds without a request: accounts.middleware saves a
# signed-in session again once SESSION_REFRESH_SECONDS have passed since its last save, which
# moves its expiry forward, so the idle timeout is between AGE - REFRESH and AGE.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 2 * 3600, minimum=60)
SESSION_REFRESH_SECONDS = env_int("SESSION_REFRESH_SECONDS", 5 * 60, minimum=0)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_SAMESITE = "Lax"
# Templates send the CSRF token in a header (hx-headers) and forms, so no script reads the cookie.
CSRF_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# HTTPS in production; `make run` (DEBUG=1) stays on plain http://127.0.0.1:8000.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe the health check over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# The preload flag only allows a manual submission of the domain to browsers' HSTS preload list. The app submits nothing.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"


def _proxy_ssl_header(raw: str | None) -> tuple[str, str] | None:
    """Parse SECURE_PROXY_SSL_HEADER, given as `HEADER,value` (e.g. `X-Forwarded-Proto,https`)."""
    if not raw:
        return None
    header, _comma, value = raw.partition(",")
    header = header.strip().upper().replace("-", "_")
    value = value.strip()
    if not header or not value:
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={raw!r} is invalid; use HEADER,value, for example X-Forwarded-Proto,https."
        )
    if not header.startswith("HTTP_"):
        header = f"HTTP_{header}"
    return header, value


# Set only behind a proxy that overwrites this header on every request; otherwise a client could claim HTTPS.
SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(env_str("SECURE_PROXY_SSL_HEADER"))
# How many proxies in front of the app append to X-Forwarded-For; 0 uses REMOTE_ADDR.
# Login throttling and the audit log take the client address from here.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Content-Security-Policy (django-csp 4). The app has no inline scripts or
# styles: page data goes through json_script, and base.html turns off htmx's
# injected indicator <style> with a <meta name="htmx-config"> tag.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# Login throttling (django-axes): failures count per e-mail address and client
# address together, so one attacker cannot lock a merchant out from elsewhere.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The login form's field is "username" (Django's AuthenticationForm) although it contains the e-mail address.
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_CLIENT_IP_CALLABLE = "accounts.audit.client_ip"
AXES_VERBOSE = False

# E-mail: the console by default, so invitations and password resets show in
# the `make run` output. EMAIL_BACKEND takes console, file, smtp or a dotted path.
EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "console")
EMAIL_BACKEND = EMAIL_BACKENDS.get(EMAIL_BACKEND, EMAIL_BACKEND)
if "." not in EMAIL_BACKEND:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND={EMAIL_BACKEND!r} is unknown; use console, file, smtp, locmem or a dotted path."
    )
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive; set only one of them.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@localhost")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# Celery: Redis when REDIS_URL is set, otherwise a broker in local folders
# that needs no server (one machine only).
REDIS_URL = env_str("REDIS_URL")
BROKER_DIR = DATA_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Redis gives an unacknowledged task to another worker after this many seconds;
    # it must exceed the longest import (the hard time limit).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("BROKER_VISIBILITY_TIMEOUT", 2 * 3600, minimum=1)}
else:
    CELERY_BROKER_URL = "filesystem://"
    for folder in ("queue", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # The worker looks for new files this often (kombu's default is 1 s).
        "polling_interval": 0.2,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("IMPORT_SOFT_TIME_LIMIT", 30 * 60, minimum=1)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
# A processing upload whose worker sent no heartbeat for this long is claimed again.
# The worker sends one every 1,000 rows read, and not while it writes figures,
# so this must exceed the longest write of one file.
IMPORT_STALE_SECONDS = env_int("IMPORT_STALE_SECONDS", 10 * 60, minimum=1)
IMPORT_MAX_ATTEMPTS = env_int("IMPORT_MAX_ATTEMPTS", 3, minimum=1)
IMPORT_RETRY_BASE_SECONDS = env_int("IMPORT_RETRY_BASE_SECONDS", 10, minimum=0)
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-uploads": {"task": "traffic.tasks.requeue_stuck_uploads", "schedule": 60.0},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Peer baselines. A cohort below BENCHMARK_MIN_COHORT stores, or with a top group
# below BENCHMARK_MIN_TOP_GROUP stores, is never published; staff may raise
# these thresholds on the method page but not lower them.
BENCHMARK_MIN_COHORT = env_int("BENCHMARK_MIN_COHORT", 10, minimum=2)
BENCHMARK_MIN_TOP_GROUP = env_int("BENCHMARK_MIN_TOP_GROUP", 5, minimum=1)
# Whether a store that has not chosen contributes its figures to baselines.
BENCHMARK_CONTRIBUTE_DEFAULT = env_bool("BENCHMARK_CONTRIBUTE_DEFAULT", True)
# Whether only contributing stores see baselines (give to get).
BENCHMARK_VIEW_REQUIRES_CONTRIBUTING = env_bool("BENCHMARK_VIEW_REQUIRES_CONTRIBUTING", True)
# Hour (UTC) of the scheduled recomputes. The platform refreshes weekly figures on
# Tuesdays and monthly figures on the 3rd, dated in US Pacific time; 20:00 UTC is
# noon in Los Angeles in winter.
BENCHMARK_RECOMPUTE_HOUR_UTC = env_int("BENCHMARK_RECOMPUTE_HOUR_UTC", 20, minimum=0)

# Added to the watchdog's entry above: assigning a new dict here would drop it.
CELERY_BEAT_SCHEDULE |= {
    "benchmarks-weekly": {
        "task": "benchmarks.tasks.recompute_latest_period",
        "schedule": crontab(minute=0, hour=BENCHMARK_RECOMPUTE_HOUR_UTC, day_of_week="tue"),
        "args": ("week",),
    },
    "benchmarks-monthly": {
        "task": "benchmarks.tasks.recompute_latest_period",
        "schedule": crontab(minute=0, hour=BENCHMARK_RECOMPUTE_HOUR_UTC, day_of_month="3"),
        "args": ("month",),
    },
}
