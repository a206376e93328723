"""Settings, read from the environment through django-environ (DESIGN.md §3).

Two run modes share one code path:

* embedded default: no ``REDIS_URL``; SQLite (WAL, IMMEDIATE transactions) unless ``DATABASE_URL``
  says otherwise; local-memory cache; in-memory channel layer; Celery tasks run in-process.
* services: ``DATABASE_URL=postgres://…`` and ``REDIS_URL=redis://…``; Postgres through Django's
  psycopg pool, Redis cache, channels-redis, Celery workers on Redis.

``BROKER_ENV=production`` refuses to start without a secret key, allowed hosts and the encryption
key for secrets at rest.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

BROKER_ENV = env.str("BROKER_ENV", default="development")
PRODUCTION = BROKER_ENV == "production"

_DEV_SECRET = "dev-only-insecure-secret-key-do-not-use-in-production"  # noqa: S105
# Fernet key for secrets at rest (API secrets, webhook secrets). Dev default is fixed and public.
_DEV_ENCRYPTION_KEY = "ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM="

SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET)
ENCRYPTION_KEY = env.str("ENCRYPTION_KEY", default=_DEV_ENCRYPTION_KEY)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])

if PRODUCTION:
    missing = [
        name
        for name, value, dev in (
            ("SECRET_KEY", SECRET_KEY, _DEV_SECRET),
            ("ENCRYPTION_KEY", ENCRYPTION_KEY, _DEV_ENCRYPTION_KEY),
        )
        if value == dev
    ]
    if not ALLOWED_HOSTS:
        missing.append("ALLOWED_HOSTS")
    if missing:
        raise ImproperlyConfigured(f"BROKER_ENV=production requires: {', '.join(missing)}")

INSTALLED_APPS = [
    "daphne",
    "apps.backoffice.admin_apps.BackofficeAdminConfig",  # django.contrib.admin on the TOTP site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "channels",
    "django_celery_beat",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "apps.core",
    "apps.users",
    "apps.tokens",
    "apps.accounts",
    "apps.trading",
    "apps.market",
    "apps.events",
    "apps.webapi",
    "apps.kyc",
    "apps.finance",
    "apps.apikeys",
    "apps.content",
    "apps.openapi",
    "apps.bgeapi",
    "oauth2_provider",
    "apps.oauth",
    "apps.orgapi",
    "apps.backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified() for the admin's TOTP step
    # After authentication: an end user's saved language wins over Accept-Language (docs/content.md).
    "apps.users.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a lockout flagged during authenticate() into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "broker.urls"
WSGI_APPLICATION = "broker.wsgi.application"
ASGI_APPLICATION = "broker.asgi.application"

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
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue instead of failing with "database is locked" half-way through a transaction.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
elif _db["ENGINE"] in ("django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"):
    _db["ENGINE"] = "django.db.backends.postgresql"
    if env.bool("DB_POOL", default=True):
        # Django's built-in psycopg pool; it requires CONN_MAX_AGE = 0.
        _db["CONN_MAX_AGE"] = 0
        _db["OPTIONS"] = {"pool": {"min_size": 1, "max_size": env.int("DB_POOL_MAX", default=20), "timeout": 30}}
    # Server-side parameter binding: psycopg sends parameters separately instead of interpolating
    # them into the SQL text client-side, which dominated large batch inserts.
    _db.setdefault("OPTIONS", {})["server_side_binding"] = env.bool("DB_SERVER_SIDE_BINDING", default=True)
    _db.setdefault("TEST", {})
    _db["TEST"]["NAME"] = env.str("TEST_DATABASE_NAME", default="test_broker")
DB_IS_POSTGRES = _db["ENGINE"] == "django.db.backends.postgresql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

# --- redis: cache, channel layer, celery ---------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CHANNEL_PREFIX = env.str("CHANNEL_PREFIX", default="asgi")  # channel layer keys and broadcast channels
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "apps.core.cache.RedisCache",  # Django's, reusing its redis-py client
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_PREFIX", default="broker"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # capacity: messages a channel holds before channels-redis drops new ones, silently for a
            # group_send (it logs "over capacity" at INFO). Every consumer of one daphne process shares
            # one Redis key ("specific.<process>!"), so that key's capacity is the whole process's
            # backlog: at 1,000 it dropped a third of the private fill reports of a process running
            # behind under load (docs/benchmarks.md, "System load" 7.). Messages still expire after
            # `expiry` seconds; a consumer's own in-process buffer keeps `capacity` (batches keep
            # the count low, apps.core.ws).
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": CHANNEL_PREFIX,
                "capacity": env.int("CHANNEL_CAPACITY", default=1000),
                "channel_capacity": {"specific.*": env.int("PROCESS_CHANNEL_CAPACITY", default=100_000)},
                "expiry": env.int("CHANNEL_EXPIRY", default=60),
            },
        }
    }
else:
    # File-based, not local memory: the embedded stack runs daphne and the demo market maker as two
    # processes that must see one cache (docs/decisions.md #1).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env.str("CACHE_DIR", default=str(BASE_DIR / "var" / "cache")),
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without Redis, tasks run in-process, in the order they are sent, through the same task code.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "apps.trading.tasks.match_symbol": {"queue": "match.0"},
    "apps.events.tasks.*": {"queue": "notifications"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "match-sweep": {"task": "apps.trading.tasks.match_sweep", "schedule": 5.0},
    "events-sweep": {"task": "apps.events.tasks.sweep_undelivered", "schedule": 30.0},
    "reconcile": {"task": "apps.accounts.tasks.reconcile_ledger", "schedule": 3600.0},
}
CELERY_TIMEZONE = "UTC"
# Matching shards: symbol → queue "match.<crc32(symbol) % MATCH_SHARDS>".
MATCH_SHARDS = env.int("MATCH_SHARDS", default=1)

# --- auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文"), ("ko", "한국어")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")

# --- APIs ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "apps.webapi.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Broker back-office API",
    "DESCRIPTION": "User API (/api/v1/) and the other REST surfaces of the broker.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # "N of M channels over capacity in group …": a dropped private message must show in the logs
        "channels_redis": {"level": "INFO"},
    },
}

# Demo market maker started by `make run` (see apps/trading/management/commands/run_market_maker.py).
DEMO_MARKET_MAKER = env.bool("DEMO_MARKET_MAKER", default=True)


# --- users: login lockout, verification codes, KYC (docs/users.md) ----------------------------
# django-axes first: it refuses a locked-out username+IP before any password is checked. Then end
# users by email/phone within their organization, then staff usernames (admin).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "apps.users.backends.ContactBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "apps.webapi.auth_views.axes_lockout_response"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@broker.local")
# Same shape as EMAIL_BACKEND (apps/users/sms.py): console, in-memory, or a provider's class path.
SMS_BACKEND = env.str("SMS_BACKEND", default="apps.users.sms.ConsoleSmsBackend")
VERIFICATION_CODE_TTL = env.int("VERIFICATION_CODE_TTL", default=300)  # seconds
VERIFICATION_CODE_MAX_ATTEMPTS = env.int("VERIFICATION_CODE_MAX_ATTEMPTS", default=5)
VERIFICATION_CODE_RESEND_SECONDS = env.int("VERIFICATION_CODE_RESEND_SECONDS", default=60)
VERIFICATION_CODE_SEND_RATE = env.str("VERIFICATION_CODE_SEND_RATE", default="20/hour")  # per client IP
# KYC documents are private: outside MEDIA_ROOT, served only through a staff-permission view.
KYC_DOCUMENT_ROOT = env.path("KYC_DOCUMENT_ROOT", default=BASE_DIR / "var" / "private" / "kyc")
KYC_DOCUMENT_MAX_BYTES = env.int("KYC_DOCUMENT_MAX_BYTES", default=5 * 1024 * 1024)

# --- custody gateway (DESIGN.md §7, docs/funding.md) ----------------------------------------------
# "simulated" (built in: fake addresses, staff-simulated deposits, withdrawals confirm after a delay)
# or "http" (a custodian's API; its signed callbacks arrive at /custody/callback).
CUSTODY_BACKEND = env.str("CUSTODY_BACKEND", default="simulated")
CUSTODY_SIMULATED_CONFIRM_SECONDS = env.int("CUSTODY_SIMULATED_CONFIRM_SECONDS", default=10)
CUSTODY_HTTP_URL = env.str("CUSTODY_HTTP_URL", default="")
CUSTODY_HTTP_SECRET = env.str("CUSTODY_HTTP_SECRET", default="")
CUSTODY_CALLBACK_SECRET = env.str("CUSTODY_CALLBACK_SECRET", default="")
CUSTODY_CALLBACK_WINDOW_SECONDS = env.int("CUSTODY_CALLBACK_WINDOW_SECONDS", default=300)
if PRODUCTION and CUSTODY_BACKEND == "http" and not (CUSTODY_HTTP_SECRET and CUSTODY_CALLBACK_SECRET):
    raise ImproperlyConfigured("CUSTODY_BACKEND=http needs CUSTODY_HTTP_SECRET and CUSTODY_CALLBACK_SECRET")
# Approved withdrawals the custodian has not taken yet (it was down, a worker was lost) are re-queued.
CELERY_BEAT_SCHEDULE["withdrawals-broadcast-sweep"] = {
    "task": "apps.accounts.tasks.sweep_approved_withdrawals",
    "schedule": 60.0,
}

# --- finance (docs/finance.md) ------------------------------------------------------------------
# Lock-ups whose unlock date passed are released every minute; yesterday's referral commission is
# paid shortly after midnight UTC.
CELERY_BEAT_SCHEDULE["finance-lockups-release-due"] = {
    "task": "apps.finance.tasks.lockups_release_due",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["finance-commission-settle"] = {
    "task": "apps.finance.tasks.commission_settle_yesterday",
    "schedule": crontab(hour=0, minute=15),
}

# --- OAuth (apps/oauth, docs/oauth.md) ---------------------------------------------------------
# django-oauth-toolkit: authorization code + PKCE (S256; required for public clients), exact
# redirect URIs, short-lived access tokens, rotating refresh tokens with reuse detection. Only
# staff-approved applications work, each limited to its allowed scopes (apps/oauth/validators.py).
# DOT's own application model (not swapped), named so migrations can point at it.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "SCOPES": {
        "userInfo": "Read the user's profile",
        "accountInfo": "Read balances and deposit addresses",
        "accountDetail": "Read the balance flow, deposit and withdrawal history",
        "tradeInfo": "Read orders and trades",
        "trade": "Place and cancel orders",
    },
    "SCOPES_BACKEND_CLASS": "apps.oauth.scopes.ApplicationScopes",
    "OAUTH2_VALIDATOR_CLASS": "apps.oauth.validators.BrokerOAuth2Validator",
    "APPLICATION_ADMIN_CLASS": "apps.oauth.admin.ApplicationAdmin",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=900),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_REFRESH_TOKEN_SECONDS", default=30 * 24 * 3600),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list(
        "OAUTH_REDIRECT_URI_SCHEMES", default=["https"] if PRODUCTION else ["http", "https"]
    ),
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
}
# Requests per second per access token on the OAuth resource API (seed 000/001: 2).
OAUTH_API_RATE_PER_SECOND = env.int("OAUTH_API_RATE_PER_SECOND", default=2)

# --- content, notifications, languages (apps/content, docs/content.md) ----------------------------
# User notifications (email/SMS/in-site message from outbox events) run on the notifications worker.
CELERY_TASK_ROUTES["apps.content.tasks.*"] = {"queue": "notifications"}
# Translations: locale/<lang>/LC_MESSAGES/django.po (+ compiled .mo), for en / zh-hans / ko.
LOCALE_PATHS = [BASE_DIR / "locale"]


# --- back office: staff admin with TOTP, statistics (docs/backoffice.md) ---------------------------
# The admin requires a TOTP step after the password (django-otp). Only the test suite turns it off,
# for tests of other features that sign staff in with force_login.
BACKOFFICE_ADMIN_OTP = env.bool("BACKOFFICE_ADMIN_OTP", default=True)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Broker back office")
# Reverting an object to an old version from its history page would bypass the services.
SIMPLE_HISTORY_REVERT_DISABLED = True
CELERY_BEAT_SCHEDULE["backoffice-statistics-refresh"] = {
    "task": "apps.backoffice.tasks.statistics_refresh",
    "schedule": 600.0,
}


# --- events: organization feed, webhooks; Org API (docs/events.md, docs/orgapi.md) ----------------
# Webhook tries: 10 s, 20 s, 40 s … (capped at 1 h) between tries, then given up; the beat entry
# runs the tries that are due. Private/loopback webhook hosts only outside production.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
WEBHOOK_BACKOFF_BASE_SECONDS = env.int("WEBHOOK_BACKOFF_BASE_SECONDS", default=10)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=not PRODUCTION)
CELERY_BEAT_SCHEDULE["events-webhooks-retry"] = {"task": "apps.events.tasks.webhooks_retry_due", "schedule": 10.0}
# A webhook try may wait for its timeout: tries run on the default workers, so a slow endpoint never
# holds up event delivery and notifications (the notifications queue).
CELERY_TASK_ROUTES["apps.events.tasks.webhook_deliver"] = {"queue": "default"}
# Org API uploads (pic/upload, file/upload) land under MEDIA_ROOT/orgapi/<org id>/.
ORGAPI_PIC_MAX_BYTES = env.int("ORGAPI_PIC_MAX_BYTES", default=5 * 1024 * 1024)
ORGAPI_FILE_MAX_BYTES = env.int("ORGAPI_FILE_MAX_BYTES", default=200 * 1024 * 1024)
