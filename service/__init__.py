"""talkcare: staff care for organisations. ``create_app`` builds the web app (API + pages)."""
from __future__ import annotations

import importlib
import os

from flask import Flask, flash, g, jsonify, render_template, request, send_from_directory, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, default_exceptions

from service.config import SWAGGER_ASSETS_URL, load_config
from service import sqlite_gate
from service.extensions import api, babel, csrf, db, limiter, login_manager, migrate


# Each domain's REST blueprint (``blp``) and web blueprint (``bp``), by module.
API_BLUEPRINTS = ("service.people.api", "service.auth.api", "service.care.api", "service.workdays.api", "service.leave.api",
                 "service.rotation.api", "service.talks.api", "service.digest.api")
WEB_BLUEPRINTS = ("service.auth.web", "service.web.views", "service.care.web", "service.care.campaign_web", "service.leave.web", "service.rotation.web", "service.talks.web", "service.digest.web")
# Each domain's models module, imported so its tables are known to migrations and create_all.
MODEL_MODULES = ("service.audit.models", "service.auth.models", "service.outbox.models",
                 "service.people.models", "service.care.models", "service.workdays.models", "service.leave.models",
                 "service.rotation.models", "service.talks.models", "service.digest.models")


def create_app(config: dict | None = None) -> Flask:
    """The application factory: settings from the environment, then ``config`` overrides."""
    app = Flask(__name__, instance_path=os.environ.get("TALKCARE_INSTANCE") or None,
                instance_relative_config=True)
    app.config.update(load_config(app.instance_path))
    app.config["OPENAPI_SWAGGER_UI_URL"] = SWAGGER_ASSETS_URL
    if config:
        app.config.update(config)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    _init_limiter(app)
    api.init_app(app)

    for module in API_BLUEPRINTS:
        blueprint = importlib.import_module(module).blp
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # the API authenticates with bearer tokens, not cookies
    for module in WEB_BLUEPRINTS:
        app.register_blueprint(importlib.import_module(module).bp)
    _register_docs_assets(app)
    _register_error_handlers(app)
    _register_models()
    event.listen(Session, "after_commit", _after_commit)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)
            sqlite_gate.install(db.engine)

    from service.cli import register_commands

    register_commands(app)

    @app.context_processor
    def inject():
        from service.auth.permissions import can

        from service.labels import relation_label, role_label

        return {"role_label": role_label, "relation_label": relation_label, "can": lambda action, resource, obj=None: current_user.is_authenticated and can(
            current_user, action, resource, obj), "current_locale": str(_select_locale())}

    return app


def _register_models() -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)


def _select_locale():
    from flask import current_app

    if "language" in session:
        return session["language"]
    if current_user and current_user.is_authenticated:
        return current_user.language
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"]) if request else None
    if best == "en":
        return "en"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _init_limiter(app: Flask) -> None:
    from service.redis_server import redis_url

    url = redis_url(app)
    # The limits library names a Redis reached over a unix socket "redis+unix".
    storage = "redis+unix://" + url.split("://", 1)[1].split("?", 1)[0] if url.startswith("unix://") else url
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "talkcare-limits")
    limiter.init_app(app)


def _register_docs_assets(app: Flask) -> None:
    import swagger_ui_bundle

    folder = str(swagger_ui_bundle.swagger_ui_path)

    @app.route(SWAGGER_ASSETS_URL + "<path:filename>")
    def swagger_assets(filename):
        return send_from_directory(folder, filename, max_age=86400)


def _register_error_handlers(app: Flask) -> None:
    from service.errors import DomainError, api_error_data

    @app.errorhandler(DomainError)
    def refused(error):
        # A domain's rules refused the request: what it wrote before refusing is not kept.
        db.session.rollback()
        if request.path.startswith("/api"):
            return api.handle_http_exception(_http_error(error.status, api_error_data(error)))
        # Pages catch their domain's errors to show them by the field; one that slips through
        # is still the visitor's 4xx, not our 500.
        flash(error.message, "error")
        return render_template("errors/error.html", error=_http_error(error.status, {})), error.status

    @app.errorhandler(IntegrityError)
    def integrity(error):
        # A race past the views' own checks (two requests with the same number): nothing is kept.
        db.session.rollback()
        return _error(409, "The change conflicts with existing data (duplicate or in use).")

    @app.errorhandler(429)
    def too_many(error):
        if request.path.startswith("/api"):
            return _error(429, str(error.description))
        return render_template("errors/error.html", error=error), 429

    @app.errorhandler(Exception)
    def unexpected(error):
        if isinstance(error, HTTPException):
            return api.handle_http_exception(error)
        db.session.rollback()
        app.logger.exception("unexpected error")
        if request.path.startswith("/api"):
            return _error(500, "Internal error; it was logged.")
        return render_template("errors/error.html", error=None), 500


def _http_error(code: int, data: dict) -> HTTPException:
    """The HTTP error ``flask_smorest.abort(code, **data)`` raises, for a handler to answer with."""
    error = default_exceptions[code]()
    error.data = data
    return error


def _error(code: int, message: str):
    from http import HTTPStatus

    body = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
    return jsonify(body), code


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Development runs web, worker and scheduler on one SQLite file: WAL lets readers and the
    # one writer proceed together, and a busy timeout makes writers wait instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Under WAL, NORMAL syncs at checkpoints instead of at every commit: the database cannot be
    # corrupted, but a power cut or OS crash (not a process crash) may lose the last commits.
    # Accepted for a single-machine development/small-office setup; PostgreSQL is the production
    # database. (FULL cost ~3 ms of fsync per commit and serialised writers behind it.)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _after_commit(session) -> None:
    if session.info.pop("outbox_written", False):
        from service.jobs import enqueue_relay

        enqueue_relay()


@login_manager.user_loader
def _load_user(user_id: str):
    from service.people.models import Person

    try:
        person_id, fragment = user_id.split(":", 1)
        person = db.session.get(Person, int(person_id))
    except (ValueError, TypeError):
        return None
    if person is None or (person.password_hash or "")[-8:] != fragment or not person.is_active:
        return None
    g.actor = person
    return person
