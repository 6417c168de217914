"""REST API of talks: records with versions and sign-off, attachments, follow-ups, kinds, cadence
and trigger rules, triggers, settings, obligations and the ledger export.

Content (outline, content, views, attitude, attachments, versions) is returned only to the talkers,
the recorder and the talked-to (and the unit's discipline-inspection readers); every such answer is
an audited read. Everyone else with oversight gets the metadata.
"""
from __future__ import annotations

from flask import Response, g, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _, ngettext
from flask_smorest import Blueprint, abort
from sqlalchemy import exists, select

from schemas.talks import (
    TalkAcceptSchema, TalkProposalsSchema,
    TalkCadenceRuleSchema, TalkFollowUpQuerySchema, TalkFollowUpSchema, TalkKindSchema, TalkLedgerQuerySchema, TalkObligationQuerySchema,
    TalkObligationSchema, TalkSettingsSchema, TalkPatchSchema, TalkQuerySchema, TalkSchema, TalkTriggerRuleSchema,
    TalkTriggerSchema, TalkVersionSchema,
)
from service import audit
from service.api_support import authenticate_api, field_error, get_or_404, paginate, require
from service.auth.permissions import can, leads
from service.clock import unit_today
from service.extensions import db
from service.people.models import Person, Section
from service.talks.access import dump_follow_up, dump_talk, may_read_content, read_content, visible_talks
from service.talks.cadence import STATUS_COLOURS
from service.talks.ledger import ledger_csv, ledger_xlsx
from service.talks.loading import (
    cadence_rule_of, kind_codes, month_proposals, obligations, talk_settings,
)
from service.talks.models import (
    CadenceRuleRow, FollowUp, Talk, TalkAttachment, TalkKind, TalkParticipant, TalkTrigger, TriggerRuleRow,
)
from service.talks.red_letter import red_letter
from service.talks.records import attach, content_readers, create_talk, sign_talk, update_talk

blp = Blueprint("talks_api", __name__, url_prefix="/api/talks",
                description="Heart-to-heart talks: records, sign-off, rules, obligations")
blp.before_request(authenticate_api)
# One instance for every request: given the class, webargs builds a schema (and deep-copies its
# fields) per request. Loading keeps no state on the schema, so sharing it between threads is safe.
TALK_IN = TalkSchema()


def _talk_or_404(talk_id: int) -> Talk:
    talk = content_readers(get_or_404(Talk, talk_id, "talk"))
    if not can(g.actor, "read", "talk", talk, token_scope=g.token_scope):
        abort(404, message=_("No talk with id %(id)s.", id=talk_id))
    return talk


# ----------------------------------------------------------------------------------- talks


@blp.route("")
class Talks(MethodView):
    @blp.arguments(TalkQuerySchema, location="query")
    @blp.response(200, TalkSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Talks you may see (metadata only: open one talk for its content)"""
        require("read", "talk")
        stmt = visible_talks(g.actor).order_by(Talk.held_at.desc(), Talk.id.desc())
        if "start" in query:
            stmt = stmt.where(Talk.held_on >= query["start"])
        if "end" in query:
            stmt = stmt.where(Talk.held_on <= query["end"])
        if "kind" in query:
            stmt = stmt.where(Talk.kind == query["kind"])
        if "status" in query:
            stmt = stmt.where(Talk.status == query["status"])
        if "person_id" in query:
            stmt = stmt.where(exists().where(TalkParticipant.talk_id == Talk.id,
                                             TalkParticipant.person_id == query["person_id"]))
        if "section_id" in query:
            stmt = stmt.where(exists().where(
                TalkParticipant.talk_id == Talk.id, TalkParticipant.role == "talked_to",
                TalkParticipant.person_id.in_(select(Person.id).where(Person.section_id == query["section_id"]))))
        return [dump_talk(t, g.actor, False) for t in paginate(stmt, pagination_parameters)]

    @blp.arguments(TALK_IN)
    @blp.response(201, TalkSchema)
    def post(self, data):
        """Record a talk (you must be one of its talkers or its recorder)"""
        if g.token_scope == "read":
            abort(403, message=_("This token (or session) is read-only."))
        today = unit_today()
        talk = create_talk(data, g.actor, today, attach=False)  # only read for the answer
        # The answer is built from what was just written, and its audited read of the content
        # commits with the talk: one transaction, one commit, all or nothing.
        data = dump_talk(talk, g.actor, True, g.token_scope, today)
        location = url_for("talks_api.TalkById", talk_id=talk.id)  # before the commit expires the talk
        db.session.commit()
        return data, 201, {"Location": location}


@blp.route("/<int:talk_id>")
class TalkById(MethodView):
    @blp.response(200, TalkSchema)
    def get(self, talk_id):
        """One talk; its content (``record``) only if you may read it, and that read is audited"""
        talk = _talk_or_404(talk_id)
        data = dump_talk(talk, g.actor, True, g.token_scope, unit_today())
        db.session.commit()  # the audit entry of the read
        return data

    @blp.arguments(TalkPatchSchema(partial=True))
    @blp.response(200, TalkSchema)
    def patch(self, data, talk_id):
        """Edit a talk (talkers and recorder). After a sign-off the edit is a new version, to sign again."""
        talk = _talk_or_404(talk_id)
        require("write", "talk", talk)
        data = dict(data)
        if "follow_ups_add" in data:
            data["follow_ups"] = data.pop("follow_ups_add")
        update_talk(talk, data, g.actor, unit_today())
        db.session.flush()
        db.session.commit()
        data = dump_talk(talk, g.actor, True, g.token_scope, unit_today())
        db.session.commit()  # the audit entry of the read
        return data


@blp.route("/<int:talk_id>/signoff")
class SignOff(MethodView):
    @blp.response(201, TalkSchema)
    def post(self, talk_id):
        """Sign (acknowledge) the current version of the record: the talked-to person only"""
        talk = _talk_or_404(talk_id)
        require("write", "talk_signoff", talk)
        sign_talk(talk, g.actor)
        db.session.flush()
        db.session.commit()
        return dump_talk(talk, g.actor, False, g.token_scope, unit_today())


@blp.route("/<int:talk_id>/versions")
class Versions(MethodView):
    @blp.response(200, TalkVersionSchema(many=True))
    def get(self, talk_id):
        """Every version of the content (for whoever may read the content; each read audited)"""
        talk = _talk_or_404(talk_id)
        if not may_read_content(g.actor, talk, g.token_scope):
            abort(403, message=_("You may not read the content of this talk."))
        out = [{"number": v.number, "edited_by_id": v.edited_by_id, "created_at": v.created_at,
                "signed_by": sorted(talk.signed_by(v.number)), **read_content(talk, g.actor, v.number)}
               for v in talk.versions]
        db.session.commit()
        return out


@blp.route("/<int:talk_id>/attachments")
class Attachments(MethodView):
    @blp.response(201)
    def post(self, talk_id):
        """Attach a PDF, JPEG or PNG (multipart field ``file``; type checked by content, 5 MB at most)"""
        talk = _talk_or_404(talk_id)
        require("write", "talk", talk)
        upload = request.files.get("file")
        if upload is None:
            field_error(400, "file", _("Send the file as multipart form field 'file'."), "files")
        row = attach(talk, upload.filename, upload.read(5 * 1024 * 1024 + 1), g.actor)
        db.session.commit()
        return ({"id": row.id, "filename": row.filename, "content_type": row.content_type, "size": row.size}, 201,
                {"Location": url_for("talks_api.AttachmentById", talk_id=talk.id, attachment_id=row.id)})


@blp.route("/<int:talk_id>/attachments/<int:attachment_id>")
class AttachmentById(MethodView):
    def get(self, talk_id, attachment_id):
        """Download an attachment (content readers only; audited)"""
        talk = _talk_or_404(talk_id)
        row = get_or_404(TalkAttachment, attachment_id, "attachment")
        if row.talk_id != talk.id:
            abort(404, message=_("No attachment with id %(id)s.", id=attachment_id))
        if not may_read_content(g.actor, talk, g.token_scope):
            abort(403, message=_("You may not read the content of this talk."))
        audit.record("read", "talk_attachment", row.id, {"talk_id": [None, talk.id]})
        db.session.commit()
        return Response(row.data, mimetype=row.content_type, headers={
            "Content-Disposition": f'attachment; filename="attachment-{row.id}"',
            "X-Content-Type-Options": "nosniff"})


# ----------------------------------------------------------------------------------- follow-ups


@blp.route("/follow-ups")
class FollowUps(MethodView):
    @blp.arguments(TalkFollowUpQuerySchema, location="query")
    @blp.response(200, TalkFollowUpSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Follow-up items: yours, and those of talks you may see (descriptions only to content readers)"""
        require("read", "talk_follow_up")
        stmt = select(FollowUp).order_by(FollowUp.done_on.is_not(None), FollowUp.due_on, FollowUp.id)
        stmt = stmt.where(FollowUp.talk_id.in_(visible_talks(g.actor, select(Talk.id))))
        if "owner_id" in query:
            stmt = stmt.where(FollowUp.owner_id == query["owner_id"])
        if "open" in query:
            stmt = stmt.where(FollowUp.done_on.is_(None) if query["open"] else FollowUp.done_on.is_not(None))
        today = unit_today()
        return [dump_follow_up(f, today, f.owner_id == g.actor.id or may_read_content(g.actor, f.talk))
                for f in paginate(stmt, pagination_parameters)]


@blp.route("/follow-ups/<int:item_id>")
class FollowUpById(MethodView):
    @blp.arguments(TalkFollowUpSchema(partial=True))
    @blp.response(200, TalkFollowUpSchema)
    def patch(self, data, item_id):
        """Close (done_on) or reopen (null) an item: its owner, the talkers or the recorder"""
        item = get_or_404(FollowUp, item_id, "follow-up item")
        if not can(g.actor, "read", "talk_follow_up", item, token_scope=g.token_scope):
            abort(404, message=_("No follow-up item with id %(id)s.", id=item_id))
        require("write", "talk_follow_up", item)
        if "done_on" in data:
            if data["done_on"] is not None and data["done_on"] > unit_today():
                field_error(422, "done_on", _("done_on cannot be in the future."))
            audit.record("update", "talk_follow_up", item.id, audit.diff({"done_on": item.done_on}, data))
            item.done_on = data["done_on"]
        db.session.commit()
        return dump_follow_up(item, unit_today())


# ----------------------------------------------------------------------------------- kinds, rules


def _code_taken(name: str, code: str) -> str:
    """The 409 message when a code is taken, per table."""
    if name == "kinds":
        return _("A talk kind with code %(code)s exists.", code=repr(code))
    if name == "rules":
        return _("A cadence rule with code %(code)s exists.", code=repr(code))
    if name == "trigger-rules":
        return _("A trigger rule with code %(code)s exists.", code=repr(code))
    return _("A trigger with code %(code)s exists.", code=repr(code))


def _crud(name: str, model, schema, check=None):
    """List/create and patch endpoints of a small data table HR edits (kinds, rules, triggers)."""
    resource = "talk_trigger" if model is TalkTrigger else "talk_rules"
    title = name.replace("-", " ")

    class Collection(MethodView):
        @blp.response(200, schema(many=True))
        def get(self):
            require("read", resource)
            talk_settings()
            db.session.commit()  # the defaults, seeded on first use
            return db.session.scalars(select(model).order_by(model.id)).all()

        @blp.arguments(schema)
        @blp.response(201, schema)
        def post(self, data):
            require("write", resource)
            talk_settings()
            if check:
                check(data, None)
            if "code" in data and db.session.scalar(select(model.id).where(model.code == data["code"])):
                field_error(409, "code", _code_taken(name, data["code"]))
            row = model(**data)
            if model is TalkTrigger:
                row.created_by_id = g.actor.id
            db.session.add(row)
            db.session.flush()
            audit.record("create", f"talk_{name}", row.id, {k: [None, audit._jsonable(v)] for k, v in data.items()})
            db.session.commit()
            return row, 201, {"Location": url_for(f"talks_api.{name}_one", row_id=row.id)}

    class One(MethodView):
        @blp.response(200, schema)
        def get(self, row_id):
            require("read", resource)
            return get_or_404(model, row_id, title[:-1])

        @blp.arguments(schema(partial=True))
        @blp.response(200, schema)
        def patch(self, data, row_id):
            require("write", resource)
            row = get_or_404(model, row_id, title[:-1])
            if "code" in data and data["code"] != getattr(row, "code", None):
                field_error(422, "code", _("The code cannot change; create a new one."))
            if check:
                check(data, row)
            audit.update(row, data, f"talk_{name}", row.id)
            db.session.commit()
            return row

        def delete(self, row_id):
            require("write", resource)
            row = get_or_404(model, row_id, title[:-1])
            if model is TalkKind and db.session.scalar(select(Talk.id).where(Talk.kind == row.code).limit(1)):
                field_error(409, "id", _("Talks of this kind exist; set active to false instead."))
            audit.record("delete", f"talk_{name}", row.id)
            db.session.delete(row)
            db.session.commit()
            return "", 204

    Collection.__name__, One.__name__ = f"{name}_all", f"{name}_one"
    blp.route(f"/{name}", endpoint=f"{name}_all")(Collection)
    blp.route(f"/{name}/<int:row_id>", endpoint=f"{name}_one")(One)


def _check_kinds(data, row):
    if "kinds" in data:
        known = set(kind_codes(active_only=False))
        unknown = [k for k in data["kinds"] if k not in known]
        if unknown:
            field_error(422, "kinds", ngettext("Unknown talk kind: %(kinds)s.", "Unknown talk kinds: %(kinds)s.",
                                               len(unknown), kinds=", ".join(unknown)))


def _check_cadence(data, row):
    _check_kinds(data, row)
    merged = {**({c.name: getattr(row, c.name) for c in CadenceRuleRow.__table__.columns} if row else {}), **data}
    try:
        cadence_rule_of(CadenceRuleRow(**{k: v for k, v in merged.items() if k != "id"}))
    except ValueError as exc:
        field_error(422, "n_weeks" if "n_weeks" in str(exc) else "frequency", str(exc))
    if merged.get("valid_from") and merged.get("valid_to") and merged["valid_to"] <= merged["valid_from"]:
        field_error(422, "valid_to", _("valid_to (exclusive) must be after valid_from."))


def _check_trigger(data, row):
    person = db.session.get(Person, data["person_id"]) if "person_id" in data else None
    if "person_id" in data and person is None:
        field_error(422, "person_id", _("No person with id %(id)s.", id=data["person_id"]))
    if data.get("section_id") is not None and db.session.get(Section, data["section_id"]) is None:
        field_error(422, "section_id", _("No section with id %(id)s.", id=data["section_id"]))


_crud("kinds", TalkKind, TalkKindSchema)
_crud("rules", CadenceRuleRow, TalkCadenceRuleSchema, _check_cadence)
_crud("trigger-rules", TriggerRuleRow, TalkTriggerRuleSchema, _check_kinds)
_crud("triggers", TalkTrigger, TalkTriggerSchema, _check_trigger)


@blp.route("/settings")
class Settings(MethodView):
    @blp.response(200, TalkSettingsSchema)
    def get(self):
        """The unit's talk settings (who, as discipline inspection, may read all content)"""
        require("read", "talk_rules")
        row = talk_settings()
        db.session.commit()
        return row

    @blp.arguments(TalkSettingsSchema(partial=True))
    @blp.response(200, TalkSettingsSchema)
    def patch(self, data):
        """Change the talk settings (HR)"""
        require("write", "talk_rules")
        row = talk_settings(for_update=True)
        for pid in data.get("discipline_reader_ids", []):
            if db.session.get(Person, pid) is None:
                field_error(422, "discipline_reader_ids", _("No person with id %(id)s.", id=pid))
        audit.update(row, data, "talk_settings", 1)
        db.session.commit()
        return row


# ----------------------------------------------------------------------------------- obligations


@blp.route("/obligations")
class Obligations(MethodView):
    @blp.arguments(TalkObligationQuerySchema, location="query")
    @blp.response(200, TalkObligationSchema(many=True))
    def get(self, query):
        """A talker's obligations on a day, never-talked first, then the most overdue (red-letter order)"""
        require("read", "talk_obligations")
        talker_id = query.get("talker_id", g.actor.id)
        talker = db.session.get(Person, talker_id)
        if talker is None:
            field_error(422, "talker_id", _("No person with id %(id)s.", id=talker_id), "query")
        if talker.id != g.actor.id and g.actor.access_role != "hr" and not leads(g.actor, talker):
            abort(403, message=_("You may see your own obligations and those of the people you lead."))
        on = query.get("on") or unit_today()
        found = obligations(on, talker.id)
        db.session.commit()
        names = dict(db.session.execute(select(Person.id, Person.name)).all())
        return [{**o._asdict(), "rule": str(o.rule_id), "trigger": o.trigger_id, "colour": STATUS_COLOURS[o.status],
                 "talked_to_name": names.get(o.talked_to_id, "")}
                for o in found if "status" not in query or o.status == query["status"]]


@blp.route("/ledger.csv")
class Ledger(MethodView):
    @blp.arguments(TalkLedgerQuerySchema, location="query")
    def get(self, query):
        """The talk ledger (台账) as CSV; content columns only for talks whose content you may read"""
        require("read", "talk")
        text = ledger_csv(g.actor, query, g.token_scope)
        db.session.commit()
        return Response("\ufeff" + text, mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="talk-ledger.csv"'})


@blp.route("/ledger.xlsx")
class LedgerXlsx(MethodView):
    @blp.arguments(TalkLedgerQuerySchema, location="query")
    def get(self, query):
        """The talk ledger (台账) as an Excel workbook; the same columns and rules as the CSV"""
        require("read", "talk")
        data = ledger_xlsx(g.actor, query, g.token_scope)
        db.session.commit()
        return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": 'attachment; filename="talk-ledger.xlsx"'})


# ----------------------------------------------------------------------------------- scheduling


@blp.route("/proposals")
class Proposals(MethodView):
    @blp.response(200, TalkProposalsSchema)
    def get(self):
        """Proposed days this month for your open talks (official working days, at most N a day,
        avoiding your leave and theirs); ``provisional`` when this year's official calendar is not out"""
        require("read", "talk_obligations")
        found = month_proposals(g.actor.id, unit_today())
        db.session.commit()
        return {"provisional": found["provisional"],
                "proposals": [p._asdict() for p in found["proposals"]]}

    @blp.arguments(TalkAcceptSchema)
    @blp.response(201, TalkSchema)
    def post(self, data):
        """Accept a proposal: it becomes a scheduled talk of yours with that person"""
        if g.token_scope == "read":
            abort(403, message=_("This token (or session) is read-only."))
        if data["held_at"].date() < unit_today():
            field_error(422, "held_at", _("A scheduled talk cannot be in the past."))
        body = {"kind": data["kind"], "status": "scheduled", "held_at": data["held_at"],
                "duration_minutes": data["duration_minutes"], "place": data["place"], "topic": data["topic"],
                "talker_ids": [g.actor.id], "talked_to_ids": [data["talked_to_id"]], "recorder_id": None,
                "present_ids": []}
        talk = create_talk(body, g.actor, unit_today())
        db.session.commit()
        data = dump_talk(talk, g.actor, False, g.token_scope, unit_today())
        return data, 201, {"Location": url_for("talks_api.TalkById", talk_id=talk.id)}


@blp.route("/red-letter")
class RedLetter(MethodView):
    @blp.arguments(TalkObligationQuerySchema(only=("on",)), location="query")
    def get(self, query):
        """The red-letter report (通报): overdue and due talks and overdue follow-up items, per section
        and per leader, on a day (HR)"""
        require("read", "talk_obligations")
        if g.actor.access_role != "hr":
            abort(403, message=_("The red-letter report is HR's."))
        report = red_letter(query.get("on") or unit_today())
        db.session.commit()
        return report
