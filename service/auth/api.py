"""REST API: personal API tokens, the audit log, the outbox."""
from __future__ import annotations

from flask import g, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from schemas.auth import (
    AuditQuerySchema, AuditSchema, OutboxQuerySchema, OutboxSchema, TokenCreatedSchema,
    TokenCreateSchema, TokenQuerySchema, TokenSchema,
)
from service import audit, outbox
from service.api_support import authenticate_api, get_or_404, paginate, require
from service.audit.models import AuditEntry
from service.auth.models import ApiToken
from service.clock import now_utc
from service.extensions import db
from service.outbox.models import OutboxMessage

blp = Blueprint("access", __name__, url_prefix="/api", description="API tokens, audit log, outbox")
blp.before_request(authenticate_api)


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.arguments(TokenQuerySchema, location="query")
    @blp.response(200, TokenSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """My API tokens (HR: anyone's, with person_id)"""
        owner = query.get("person_id", g.actor.id)
        require("read", "api_token", ApiToken(person_id=owner))
        stmt = select(ApiToken).where(ApiToken.person_id == owner).order_by(ApiToken.id)
        return paginate(stmt, pagination_parameters)

    @blp.arguments(TokenCreateSchema)
    @blp.response(201, TokenCreatedSchema)
    def post(self, data):
        """Create a token for myself; the clear token is in this response only"""
        require("write", "api_token", ApiToken(person_id=g.actor.id))
        if data["scope"] == "write" and g.get("token_scope") == "read":
            abort(403, message=_("A read-only token cannot create a write token."))
        token, clear = ApiToken.issue(g.actor.id, data["name"], data["scope"])
        db.session.add(token)
        db.session.flush()
        audit.record("create", "api_token", token.id, {"name": [None, token.name], "scope": [None, token.scope]})
        db.session.commit()
        token.token = clear  # shown in this response only; never stored
        return token, 201, {"Location": url_for("access.TokenById", token_id=token.id)}


@blp.route("/tokens/<int:token_id>")
class TokenById(MethodView):
    @blp.response(200, TokenSchema)
    def get(self, token_id):
        """One token (without its secret)"""
        token = get_or_404(ApiToken, token_id, "token")
        require("read", "api_token", token)
        return token

    @blp.response(204)
    def delete(self, token_id):
        """Revoke a token; it stops working at once"""
        token = get_or_404(ApiToken, token_id, "token")
        require("write", "api_token", token)
        if token.revoked_at is None:
            token.revoked_at = now_utc()
            audit.record("revoke", "api_token", token.id)
            db.session.commit()


@blp.route("/audit")
class AuditLog(MethodView):
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """The audit log, newest first"""
        require("read", "audit")
        stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
        for key in ("resource", "resource_id", "actor_id"):
            if key in query:
                stmt = stmt.where(getattr(AuditEntry, key) == query[key])
        if "since" in query:
            stmt = stmt.where(AuditEntry.at >= query["since"])
        return paginate(stmt, pagination_parameters)


@blp.route("/outbox")
class Outbox(MethodView):
    @blp.arguments(OutboxQuerySchema, location="query")
    @blp.response(200, OutboxSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Outgoing messages: pending, sending, sent, parked (failed too often)"""
        require("read", "outbox")
        stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc())
        for key in ("status", "recipient_id"):
            if key in query:
                stmt = stmt.where(getattr(OutboxMessage, key) == query[key])
        return paginate(stmt, pagination_parameters)


@blp.route("/outbox/<int:message_id>/retry")
class OutboxRetry(MethodView):
    @blp.response(200, OutboxSchema)
    def post(self, message_id):
        """Send a parked message again"""
        require("write", "outbox")
        message = get_or_404(OutboxMessage, message_id, "message")
        if message.status != "parked":
            abort(409, message=_("Only parked messages can be retried; this one is %(status)s.", status=message.status))
        outbox.retry(message)
        audit.record("retry", "outbox", message.id)
        db.session.commit()  # the commit hook asks a worker to send it
        return message
