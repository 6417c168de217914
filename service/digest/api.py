"""REST API of the digest: one's own preferences; the unit's send day and hour (HR changes them)."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.digest import DigestPreferenceSchema, DigestSettingsSchema
from service import audit
from service.api_support import authenticate_api, require
from service.digest.preferences import digest_settings, preference_of
from service.extensions import db

blp = Blueprint("digest_api", __name__, url_prefix="/api/digest",
                description="Weekly schedule email: preferences and send time")
blp.before_request(authenticate_api)


@blp.route("/preferences/me")
class MyPreferences(MethodView):
    @blp.response(200, DigestPreferenceSchema)
    def get(self):
        """My weekly-email preferences (the defaults until I change them)"""
        require("read", "digest_preference", g.actor)
        return preference_of(g.actor.id)

    @blp.arguments(DigestPreferenceSchema(partial=True))
    @blp.response(200, DigestPreferenceSchema)
    def patch(self, data):
        """Change my weekly-email preferences"""
        require("write", "digest_preference", g.actor)
        row = preference_of(g.actor.id, for_update=True)
        audit.update(row, data, "digest_preference", g.actor.id)
        db.session.commit()
        return row


@blp.route("/settings")
class Settings(MethodView):
    @blp.response(200, DigestSettingsSchema)
    def get(self):
        """The unit's send day and hour (Monday 08:00 until HR changes them)"""
        require("read", "digest_settings")
        return digest_settings()

    @blp.arguments(DigestSettingsSchema(partial=True))
    @blp.response(200, DigestSettingsSchema)
    def patch(self, data):
        """Change the send day and hour"""
        require("write", "digest_settings")
        row = digest_settings(for_update=True)
        audit.update(row, data, "digest_settings", 1)
        db.session.commit()
        return row
