"""Aftercare's settings, all driven by environment variables.

Development needs none of them; production sets at least DEBUG=False,
SECRET_KEY, ALLOWED_HOSTS and SITE_URL. docs/configuration.md lists them all.
"""

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

# Lets classes like ModelAdmin[Patient] be subscripted at run time, for the type checker.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_secret(name: str, default: str) -> str:
    """A secret from NAME, or from the file NAME_FILE names (as containers and systemd
    credentials give them); the file's last newline is not part of it. Both set: an error."""
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return env_str(name, default)
    if os.environ.get(name):
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both")
    try:
        with open(path, encoding="utf-8") as secret:
            value = secret.read().removesuffix("\n")
    except OSError as error:
        raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {error.strerror}") from None
    if not value:
        raise ImproperlyConfigured(f"{name}_FILE: {path} is empty")
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_positive_int(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be 1 or more, not {value}")
    return value


def env_lockout_parameters(name: str, default: str) -> list[str | list[str]]:
    """What a failed sign-in is counted against: "username", "ip_address" or "user_agent".

    A comma separates alternatives (each counted on its own); a plus joins parameters
    counted together, e.g. "username+ip_address" (that user from that address).
    """
    known = {"username", "ip_address", "user_agent"}
    parameters: list[str | list[str]] = []
    for alternative in (os.environ.get(name) or default).split(","):
        parts = [part.strip() for part in alternative.split("+") if part.strip()]
        if not parts:
            continue
        if unknown := sorted(set(parts) - known):
            raise ImproperlyConfigured(
                f"{name} can combine username, ip_address and user_agent, not {unknown[0]!r}"
            )
        parameters.append(parts[0] if len(parts) == 1 else parts)
    if not parameters:
        raise ImproperlyConfigured(f"{name} must name at least one of username, ip_address")
    return parameters


def env_time_zone(name: str, default: str) -> str:
    value = env_str(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name} must be an IANA time zone, not {value!r}") from None
    return value


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-development-only-never-use-in-production"
SECRET_KEY = env_secret("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])

# The address patients and clinicians reach the site at; used to build login
# links in emails and in the demo's output.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env_str("SITE_NAME", "Aftercare")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks_db",
    "recovery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages compressed (static files come compressed from whitenoise, above). Django pads
    # each response with random bytes, so a page's length gives away no secret (BREACH).
    "django.middleware.gzip.GZipMiddleware",
    # No page is kept by browsers' or proxies' caches (patient data).
    "recovery.middleware.NoStoreMiddleware",
    # A NUL character in a path, query or form value: 400 before anything reads it.
    "recovery.middleware.RefuseNulMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks the session verified once a clinician has given an authenticator code.
    "django_otp.middleware.OTPMiddleware",
    # Sends clinic staff to the clinic's sign-in, and holds back the clinic and the admin
    # until they give their code where their clinic asks for one.
    "recovery.middleware.ClinicSignInMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns a locked-out sign-in into the "too many attempts" page; must be last.
    "axes.middleware.AxesMiddleware",
]

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
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "recovery.context_processors.site",
            ],
        },
    },
]

# SQLite by default (zero set-up); PostgreSQL when DATABASE_URL points at one.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'aftercare.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "recovery.User"
LOGIN_URL = "sign_in"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "sign_in"

# Clinic staff sign in with email and password (patients by login link). Axes counts the
# failures first and refuses a locked-out account before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, loading the patient or clinician with the user.
    "recovery.access.SignedInPersonBackend",
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

# Patients stay signed in on their phone for the whole diary and a little more.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 45 * 24 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Clinic staff work on shared desks and tablets: their sign-in lasts a working day.
CLINICIAN_SESSION_AGE = env_int("CLINICIAN_SESSION_AGE", 12 * 3600)
# A patient's login link: single use, valid this many hours.
LOGIN_LINK_MAX_AGE_HOURS = env_int("LOGIN_LINK_MAX_AGE_HOURS", 72)
# At most this many fresh links emailed to one patient per hour.
LOGIN_LINKS_PER_HOUR = env_int("LOGIN_LINKS_PER_HOUR", 5)

# Wrong passwords (django-axes): after AXES_FAILURE_LIMIT failures an account is locked
# for the cool-off *from the address that failed*, on the clinic's sign-in page and the
# admin's alike; tries during the lock do not extend it. Attempts live in the database
# (axes' tables), so every app server sees the same count.
AXES_FAILURE_LIMIT = env_positive_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_positive_int("AXES_COOLOFF_MINUTES", 15))
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# By account and address together: a stranger who knows a nurse's email can lock it only
# for themselves, never for the nurse at the clinic; the cost is that guesses from many
# addresses are each counted apart (docs/configuration.md weighs it). Behind a proxy the
# address is the client's from X-Forwarded-For (BEHIND_TLS_PROXY, PROXY_COUNT).
AXES_LOCKOUT_PARAMETERS = env_lockout_parameters("AXES_LOCKOUT_PARAMETERS", "username+ip_address")
_LOCKS_BY_ADDRESS = any(
    "ip_address" in ([parameter] if isinstance(parameter, str) else parameter)
    for parameter in AXES_LOCKOUT_PARAMETERS
)
SILENCED_SYSTEM_CHECKS = [] if _LOCKS_BY_ADDRESS else ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
# "Nurse@Clinic.example" and "nurse@clinic.example" are one account, one count.
AXES_USERNAME_CALLABLE = "recovery.clinicians.sign_in_username"
AXES_LOCKOUT_CALLABLE = "recovery.views.clinic.auth.locked_out"
AXES_HTTP_RESPONSE_CODE = 429  # Too Many Requests
# Masked in axes' log lines and in the form data it keeps with each attempt.
AXES_SENSITIVE_PARAMETERS = ["username", "email", "ip_address"]

# Authenticator apps (django-otp, TOTP) for clinics that set `requires_two_factor`.
OTP_TOTP_ISSUER = SITE_NAME

LANGUAGE_CODE = "en-us"
# The languages a patient can choose for messages from their clinic.
LANGUAGES = [("en", "English"), ("es", "Spanish")]
TIME_ZONE = env_time_zone("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

_EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS: dict[str, dict[str, object]] = {"default": {"BACKEND": _EMAIL_BACKEND}}
if _EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_secret("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Aftercare <aftercare@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security. Behind a TLS-terminating load balancer set SECURE_PROXY_SSL_HEADER.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# A load balancer's health check often speaks plain HTTP: /healthz answers it, never 301.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies of ours stand in front of the app: the client's address is the one the
# outermost of them wrote into X-Forwarded-For (recovery.audit.client_ip), for the audit
# trail and the sign-in lock alike. 0: REMOTE_ADDR is the client's.
PROXY_COUNT = env_int("PROXY_COUNT", 1 if BEHIND_TLS_PROXY else 0)
AXES_CLIENT_IP_CALLABLE = "recovery.audit.client_ip"
# Clinic staff reset a forgotten password by email; the link works for an hour.
PASSWORD_RESET_TIMEOUT = env_positive_int("PASSWORD_RESET_MINUTES", 60) * 60
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# Background work (reminders, nudges): Django's tasks framework, queued in the database and
# run by `manage.py db_worker` (docs/deployment.md). Tests use the immediate backend.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Web Push for the patients' reminders. Unset keys (the development default) turn push off
# and reminders go by email; `manage.py vapid_keys` prints a fresh pair.
VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY", "")
VAPID_PRIVATE_KEY = env_secret("VAPID_PRIVATE_KEY", "")
VAPID_SUBJECT = env_str("VAPID_SUBJECT", "mailto:aftercare@localhost")
# Accept push endpoints on http://127.0.0.1 / localhost (tests, local browsers); production
# accepts https:// endpoints only.
PUSH_ALLOW_INSECURE_ENDPOINTS = env_bool("PUSH_ALLOW_INSECURE_ENDPOINTS", DEBUG)

# Health data: log no request bodies, no patient names; errors go to stderr.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
