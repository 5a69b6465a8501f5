"""Settings for Atlas Settlement, read from the environment.

- ``ATLAS_ENV``: ``dev`` (default) or ``prod``. Prod refuses to start without a real
  ``SECRET_KEY`` and ``ALLOWED_HOSTS``.
- ``DATABASE_URL``: default ``sqlite:///db.sqlite3`` (the embedded database).
- ``SECRET_KEY``, ``ALLOWED_HOSTS`` (comma separated).
- ``SESSION_IDLE_MINUTES`` (default 30): a session expires after that long without a request.
- ``SECURE_SSL_REDIRECT`` (prod, default ``1``): set ``0`` when a proxy already redirects.
- ``ATLAS_PROXY_COUNT`` (default 0): trusted reverse proxies in front (client address from X-Forwarded-For).

Security (docs/operations.md): login throttling with django-axes (5 failures lock the
username from that address for 15 minutes), a Content-Security-Policy without inline script
(django-csp, every environment), secure cookies and HSTS in prod; authentication events and
403 answers are logged to ``atlas.security``.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
ATLAS_ENV = os.environ.get("ATLAS_ENV", "dev")
if ATLAS_ENV not in {"dev", "prod"}:
    raise ImproperlyConfigured(f"ATLAS_ENV must be 'dev' or 'prod', not {ATLAS_ENV!r}")
PROD = ATLAS_ENV == "prod"

_DEV_SECRET = "dev-only-insecure-secret-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PROD else _DEV_SECRET)
if PROD and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("ATLAS_ENV=prod needs a real SECRET_KEY (50+ characters).")

DEBUG = not PROD and os.environ.get("DEBUG", "1") == "1"
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
if PROD and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ATLAS_ENV=prod needs ALLOWED_HOSTS.")
if not PROD:
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tables2",
    "django_filters",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "atlas",
    "clients",
    "ledger",
    "payouts",
    "risk",
    "portfolio",
    "reconciliation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "atlas.logging.SecurityLogMiddleware",
    # django-axes last: it turns a locked-out login attempt into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "atlas.urls"
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
                "atlas.context_processors.navigation",
            ],
        },
    },
]
WSGI_APPLICATION = "atlas.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out username/address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The client address: REMOTE_ADDR, or behind ATLAS_PROXY_COUNT trusted proxies the matching
# X-Forwarded-For entry (atlas.logging.client_ip).
ATLAS_PROXY_COUNT = int(os.environ.get("ATLAS_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "atlas.logging.client_ip"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# In dev and tests whitenoise serves straight from the finders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PROD
WHITENOISE_AUTOREFRESH = not PROD
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PROD
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"

DJANGO_TABLES2_TEMPLATE = "includes/_table.html"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Upload limit for workbooks and statements (bytes).
ATLAS_MAX_UPLOAD_BYTES = int(os.environ.get("ATLAS_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))
# A workbook may unpack to at most this much (zip bomb guard, clients.importer.reader).
ATLAS_MAX_UNPACKED_BYTES = int(os.environ.get("ATLAS_MAX_UNPACKED_BYTES", 256 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

if PROD:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Idle timeout: every request saves the session and pushes its expiry SESSION_COOKIE_AGE ahead.
SESSION_COOKIE_AGE = 60 * int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4): scripts only from our own static files, no inline
# <script> code (data goes through json_script, which is not executed). Inline style
# attributes are allowed (a few templates size bars with them); <style> blocks are not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "atlas": {"handlers": ["console"], "level": "INFO"},
        # Sign-ins, sign-outs, failed sign-ins, lockouts and 403 answers (atlas/logging.py, atlas/signals.py).
        "atlas.security": {"level": "INFO"},
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
