"""Patron's settings: every value comes from the environment, read here and nowhere else.

With no environment at all Patron runs on SQLite under ./var (or PATRON_DATA_DIR) in debug
mode, so that `patron demo` works with zero configuration. `PATRON_ENV=production` tightens:
a secret key and allowed hosts are required and the security headers are switched on; it
never adds behaviour.
"""

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from patron.config.env import (
    ConfigurationError,
    env_bool,
    env_int,
    env_list,
    env_path,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
ENVIRONMENT = env_str("PATRON_ENV", "development")
if ENVIRONMENT not in {"development", "production", "test"}:
    raise ConfigurationError(
        f"PATRON_ENV must be development, production or test, not {ENVIRONMENT!r}"
    )
PRODUCTION = ENVIRONMENT == "production"
DATA_DIR = env_path("PATRON_DATA_DIR", Path.cwd() / "var")

DEBUG = env_bool("PATRON_DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ConfigurationError("PATRON_DEBUG cannot be on in production")

if PRODUCTION:
    SECRET_KEY = env_str("PATRON_SECRET_KEY")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ConfigurationError("PATRON_SECRET_KEY must be at least 50 random characters")
else:
    SECRET_KEY = env_str("PATRON_SECRET_KEY", "insecure-development-key-" + "x" * 40)

ALLOWED_HOSTS = env_list("PATRON_ALLOWED_HOSTS", [] if PRODUCTION else ["*"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ConfigurationError("PATRON_ALLOWED_HOSTS must list the host names in production")
CSRF_TRUSTED_ORIGINS = env_list("PATRON_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from here: /api/docs/ works offline
    "django_tasks_db",
    "patron.common",
    "patron.organizations",
    "patron.accounts",
    "patron.audit",
    "patron.customers",
    "patron.catalog",
    "patron.sales",
    "patron.orders",
    "patron.activities",
    "patron.api",
    "patron.web",
    "patron.demo",
    "patron.imports",
    "patron.insights",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "patron.common.middleware.OrganizationScopeMiddleware",
    "patron.common.middleware.LanguageRememberedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "patron.config.urls"
WSGI_APPLICATION = "patron.config.wsgi.application"
ASGI_APPLICATION = "patron.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# Zero configuration means SQLite in WAL mode under the data directory; DATABASE_URL points
# Patron at PostgreSQL (or another SQLite file).
_default_sqlite = DATA_DIR / "patron.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{_default_sqlite}"),
        conn_max_age=env_int("PATRON_DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Zero configuration must just work: make the folder the database file lives in.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
            " PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": env_str("PATRON_TEST_SQLITE", "") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
FORMAT_MODULE_PATH = ["patron.formats"]
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "static/"
STATIC_ROOT = env_path("PATRON_STATIC_ROOT", DATA_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
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
MEDIA_ROOT = DATA_DIR / "media"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: DRF's browsable API builds its HTML forms from the output serializers, whose
    # relation fields would list every record of the organisation, not those the caller may see
    # (and it renders after the view has left the organisation's scope: a 500). /api/docs/ is
    # the browsable documentation.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["patron.api.filters.ScopedFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "patron.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "patron.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/minute"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Patron API",
    "DESCRIPTION": "REST API of Patron, the CRM for customer development and customer value.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CustomerKindEnum": "patron.customers.models.Customer.Kind",
        "InteractionKindEnum": "patron.activities.models.Interaction.Kind",
        "InteractionOutcomeEnum": "patron.activities.models.Interaction.Outcome",
        "DealOutcomeEnum": "patron.sales.models.Stage.Outcome",
        "LeadStatusEnum": "patron.sales.models.Lead.Status",
        "OrderStatusEnum": "patron.orders.models.Order.Status",
        "TaskStatusEnum": "patron.activities.models.Task.Status",
        "ImportKindEnum": "patron.imports.models.ImportJob.Kind",
    },
}

TASKS = {
    "default": {
        "BACKEND": (
            "django.tasks.backends.immediate.ImmediateBackend"
            if env_bool("PATRON_TASKS_IMMEDIATE", ENVIRONMENT == "test")
            else "django_tasks_db.DatabaseBackend"
        )
    }
}

# E-mail goes to the console in development until an SMTP host is configured; production
# always sends through SMTP (a local MTA on localhost:25 unless told otherwise).
_email_host = env_str("PATRON_EMAIL_HOST", "localhost" if PRODUCTION else "")
MAILERS = {
    "default": (
        {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host,
                "port": env_int("PATRON_EMAIL_PORT", 25),
                "username": env_str("PATRON_EMAIL_USER", ""),
                "password": env_str("PATRON_EMAIL_PASSWORD", ""),
                "use_tls": env_bool("PATRON_EMAIL_TLS", False),
            },
        }
        if _email_host
        else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    )
}
DEFAULT_FROM_EMAIL = env_str("PATRON_EMAIL_FROM", "patron@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals_without_traceback": {"()": "patron.common.log_filters.RefusalsWithoutTraceback"}},
    "formatters": {"django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}",
                                     "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["refusals_without_traceback"]},
                 "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"}},
    "root": {"handlers": ["console"], "level": env_str("PATRON_LOG_LEVEL", "INFO")},
    # Django's own loggers write through the root's handler only: with its default console
    # handler too, every request error was printed twice. (Naming "django" resets its child
    # loggers, so the development server's access lines get their handler back here. Django's
    # default also mails request errors to ADMINS, which Patron never sets.)
    "loggers": {"django.db.backends": {"level": "INFO"}, "django": {"handlers": [], "propagate": True},
                "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False}},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("PATRON_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("PATRON_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
