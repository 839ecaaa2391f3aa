"""Configuration classes, read from the environment.

Every setting is listed in the README's configuration table; keep the two in step.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def _normalise_db_url(url: str) -> str:
    # Heroku-style URLs and bare "postgresql://" both mean psycopg 3 here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    SECRET_KEY = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _normalise_db_url(
        _env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'equipshare.sqlite'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # A pooled connection idle for longer than this is pinged before use (and replaced if the
    # server went away). Instead of pool_pre_ping, which pings before every use: one round trip
    # per request (docs/benchmarks.md). 0: ping before every use, like pool_pre_ping.
    DB_PING_IDLE_SECONDS = _env_int("DB_PING_IDLE_SECONDS", 10)

    # Public base URL, used in e-mails, calendar feeds and iCal UIDs.
    SERVER_BASE_URL = _env("SERVER_BASE_URL", "http://127.0.0.1:5000")
    # Folder for uploaded instrument photos.
    UPLOAD_FOLDER = _env("UPLOAD_FOLDER", str(BASE_DIR / "instance" / "uploads"))
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 6 * 1024 * 1024)
    MAX_PHOTO_BYTES = _env_int("MAX_PHOTO_BYTES", 5 * 1024 * 1024)

    # Mail. With no MAIL_SERVER, mails are written to the log (development).
    MAIL_SERVER = _env("MAIL_SERVER")
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USERNAME = _env("MAIL_USERNAME")
    MAIL_PASSWORD = _env("MAIL_PASSWORD")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "EquipShare <noreply@equipshare.local>")
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 10)

    # Rate limiting (login, password reset). memory:// is per process: use Redis in production.
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    RESET_RATE_LIMIT = _env("RESET_RATE_LIMIT", "5 per minute;20 per hour")

    PASSWORD_RESET_TTL_MINUTES = _env_int("PASSWORD_RESET_TTL_MINUTES", 60)
    INVITATION_TTL_DAYS = _env_int("INVITATION_TTL_DAYS", 7)

    # i18n and time
    BABEL_DEFAULT_LOCALE = "zh"
    # Times are shown, and read when given without an offset, in Asia/Shanghai
    # (equipshare.timeutil.LOCAL_TZ, fixed by the product); Flask-Babel is told the same.
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh", "en")

    # Cookies and sessions
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = _env_int("SESSION_LIFETIME_SECONDS", 12 * 3600)

    WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session

    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BOOTSWATCH_THEME = None

    CATALOGUE_PAGE_SIZE = _env_int("CATALOGUE_PAGE_SIZE", 12)

    # Number of reverse proxies in front of the app (nginx: 1). Their X-Forwarded-For/-Proto
    # are trusted that many hops deep, so rate limits key on the real client address.
    PROXY_FIX_HOPS = _env_int("PROXY_FIX_HOPS", 0)

    # Calendar feeds: how often subscribers are asked to refresh (REFRESH-INTERVAL, X-PUBLISHED-TTL).
    FEED_REFRESH_MINUTES = _env_int("FEED_REFRESH_MINUTES", 60)
    # How often the scheduler wakes up; deliver-outbox runs on every tick.
    SCHEDULER_TICK_SECONDS = _env_int("SCHEDULER_TICK_SECONDS", 5)
    # How often the state-driven booking jobs run (expire, reminders, close past bookings).
    JOB_INTERVAL_SECONDS = _env_int("JOB_INTERVAL_SECONDS", 60)
    # Leader lock: a second scheduler stands by. SQLite: a lock file (default: next to the
    # database file); PostgreSQL: a session advisory lock with this key.
    SCHEDULER_LOCK_FILE = _env("SCHEDULER_LOCK_FILE")
    SCHEDULER_LOCK_ID = _env_int("SCHEDULER_LOCK_ID", 7_141_998_001)
    JOB_HISTORY_DAYS = _env_int("JOB_HISTORY_DAYS", 14)
    # Booking jobs
    REMINDER_HOURS = _env_int("REMINDER_HOURS", 24)
    EXPIRE_PENDING_HOURS_BEFORE_START = _env_int("EXPIRE_PENDING_HOURS_BEFORE_START", 0)
    USAGE_GRACE_HOURS = _env_int("USAGE_GRACE_HOURS", 72)
    # Outbox delivery: attempts before giving up, first back-off (doubles, at most 6 h), claims
    # older than the timeout become "unknown" (never re-sent blindly), sent mails kept for N days.
    OUTBOX_MAX_ATTEMPTS = _env_int("OUTBOX_MAX_ATTEMPTS", 8)
    OUTBOX_RETRY_SECONDS = _env_int("OUTBOX_RETRY_SECONDS", 60)
    OUTBOX_SENDING_TIMEOUT_SECONDS = _env_int("OUTBOX_SENDING_TIMEOUT_SECONDS", 900)
    OUTBOX_BATCH_SIZE = _env_int("OUTBOX_BATCH_SIZE", 100)
    OUTBOX_KEEP_DAYS = _env_int("OUTBOX_KEEP_DAYS", 90)


class DevelopmentConfig(Config):
    DEBUG = True
    SECRET_KEY = Config.SECRET_KEY or "dev-only-not-secret"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = _normalise_db_url(_env("TEST_DATABASE_URL", "sqlite://"))
    RATELIMIT_ENABLED = False
    SERVER_BASE_URL = "http://equipshare.test"
    MAIL_SERVER = None


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")

    @classmethod
    def check(cls) -> None:
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not _env(name)]
        if missing:
            raise RuntimeError(
                "Production configuration refuses to start without: " + ", ".join(missing)
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    name = _env("EQUIPSHARE_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"EQUIPSHARE_ENV must be one of {sorted(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
