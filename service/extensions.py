"""Extensions, created once and bound to the app in ``create_app``."""
from flask import render_template, request
from apispec.ext.marshmallow import MarshmallowPlugin
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, make_transient_to_detached, registry
from sqlalchemy.orm.attributes import set_committed_value

# Named constraints so that Alembic migrations are portable between SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC in and out, on PostgreSQL (timestamptz) and SQLite (which drops offsets)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    # Every timestamp is timezone-aware UTC (timestamptz on PostgreSQL).
    registry = registry(metadata=MetaData(naming_convention=NAMING),
                        type_annotation_map={datetime: UtcDateTime})


db = SQLAlchemy(model_class=Base)


def _render_item(type_, obj, autogen_context):
    # Migrations spell our UTC type as what it is in the database, so they import nothing of ours.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        autogen_context.imports.add("import sqlalchemy as sa")
        return "sa.DateTime(timezone=True)"
    return False


migrate = Migrate(render_as_batch=True, compare_type=True, render_item=_render_item)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


class TalkcareApi(Api):
    """One error shape for the API; HTML error pages for the web app."""

    def handle_http_exception(self, error):
        if request.path.startswith("/api"):
            return super().handle_http_exception(error)
        return render_template("errors/error.html", error=error), error.code


def _schema_name(schema) -> str:
    """OpenAPI component names: a partial (PATCH) schema gets its own name instead of a warning."""
    from apispec.ext.marshmallow.common import resolve_schema_cls

    name = resolve_schema_cls(schema).__name__
    name = name[:-6] if name.endswith("Schema") and len(name) > 6 else name
    partial = getattr(schema, "partial", False)
    return name + "Patch" if partial and not name.endswith("Patch") else name


api = TalkcareApi(spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name)})
# Storage is bound in create_app to the same Redis the jobs use, so limits hold across processes.
limiter = Limiter(key_func=get_remote_address, default_limits=[], strategy="fixed-window")


@limiter.request_filter
def _token_calls() -> bool:
    # Limits guard the web's sign-in and reset forms; a bearer-token API call has none, so it
    # skips the limiter's per-request lookup (~0.1 ms). A limit on an API route would need this
    # filter changed.
    return request.path.startswith("/api/") and request.headers.get("Authorization", "")[:7].lower() == "bearer "


def as_loaded(cls, values: dict, detached: bool = True, **related):
    """An object as if just loaded from ``values`` (its columns) and ``related`` (relationships),
    with no pending change: built without ``__init__``'s attribute events, about a third of the cost.

    ``detached=True`` gives it its identity, ready to join a session as a loaded row; with
    ``detached=False`` it stays transient (~40 % cheaper), for an object that is only read: its
    columns and ``related`` are there, nothing else loads on access."""
    obj = cls.__mapper__.class_manager.new_instance()
    obj.__dict__.update(values)
    if detached:
        make_transient_to_detached(obj)
    for key, value in related.items():
        set_committed_value(obj, key, value)
    return obj
