"""REST API of the register: sections and people, history, CSV import and export."""
from __future__ import annotations

from flask import Response, g, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _, ngettext
from flask_smorest import Blueprint, abort
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from schemas.people import (
    PRIVATE_FIELDS, ImportResultSchema, person_consistency, PersonQuerySchema, PersonSchema, PostingSchema,
    PersonPatchSchema, SectionPatchSchema, SectionQuerySchema, SectionSchema,
)
from service import audit
from service.api_support import authenticate_api, field_error, get_or_404, paginate, require
from service.auth.permissions import can
from service.clock import unit_today
from service.extensions import db
from service.people.models import Person, Posting, Section, holds_on_clause
from service.people.register import (
    apply_person, birthday_of, export_people_csv, import_people_csv, section_in_use, snapshot,
)

blp = Blueprint("people", __name__, url_prefix="/api", description="Sections and people (the register)")
blp.before_request(authenticate_api)


_PLAIN_FIELDS = [name for name in PersonSchema().dump_fields
                 if name not in ("section_code", "birthday", "oversees", "relatives")]
# Lists and exports read relatives and charges of every person: load them in one query each.
_WITH_DETAILS = (selectinload(Person.relatives), selectinload(Person.oversights))


def dump_person(person: Person) -> dict:
    """The person's values as the actor may see them (private fields only for those allowed);
    the response schema serialises them."""
    data = {name: getattr(person, name) for name in _PLAIN_FIELDS}
    data["section"] = {"code": person.section.code} if person.section else None
    data["birthday"] = birthday_of(person)
    data["oversees"] = sorted(o.section_id for o in person.oversights if o.valid_to is None)
    data["relatives"] = [{"id": r.id, "name": r.name, "relation": r.relation} for r in person.relatives]
    if not can(g.actor, "read", "person_private", person, token_scope=g.get("token_scope")):
        for key in PRIVATE_FIELDS:
            data.pop(key, None)
    return data


@blp.route("/sections")
class Sections(MethodView):
    @blp.arguments(SectionQuerySchema, location="query")
    @blp.response(200, SectionSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """List sections"""
        require("read", "section")
        stmt = select(Section).order_by(Section.code)
        if query.get("q"):
            like = f"%{query['q']}%"
            stmt = stmt.where(or_(Section.code.ilike(like), Section.name.ilike(like)))
        return paginate(stmt, pagination_parameters)

    @blp.arguments(SectionSchema)
    @blp.response(201, SectionSchema)
    @blp.alt_response(409, description="The code is taken")
    def post(self, data):
        """Create a section"""
        require("write", "section")
        if db.session.scalar(select(Section).where(Section.code == data["code"])):
            field_error(409, "code", _("Section code %(code)s is taken.", code=data["code"]))
        section = Section(**data)
        db.session.add(section)
        db.session.flush()
        audit.record("create", "section", section.id, audit.diff({}, data))
        db.session.commit()
        return section, 201, {"Location": url_for("people.SectionById", section_id=section.id)}


@blp.route("/sections/<int:section_id>")
class SectionById(MethodView):
    @blp.response(200, SectionSchema)
    def get(self, section_id):
        """One section"""
        require("read", "section")
        return get_or_404(Section, section_id, "section")

    @blp.arguments(SectionPatchSchema(partial=True))
    @blp.response(200, SectionSchema)
    def patch(self, data, section_id):
        """Change a section"""
        require("write", "section")
        section = get_or_404(Section, section_id, "section")
        if "code" in data and data["code"] != section.code and db.session.scalar(
                select(Section).where(Section.code == data["code"])):
            field_error(409, "code", _("Section code %(code)s is taken.", code=data["code"]))
        audit.update(section, data, "section", section.id)
        db.session.commit()
        return section

    @blp.response(204)
    def delete(self, section_id):
        """Delete a section nobody was ever posted to"""
        require("write", "section")
        section = get_or_404(Section, section_id, "section")
        if section_in_use(section):
            abort(409, message=_("People are or were posted to or in charge of this section; it stays for the history."))
        audit.record("delete", "section", section.id, {"code": [section.code, None]})
        db.session.delete(section)
        db.session.commit()


@blp.route("/people")
class People(MethodView):
    @blp.arguments(PersonQuerySchema, location="query")
    @blp.response(200, PersonSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """List people; with ``as_of`` the section and role are those held on that date"""
        require("read", "person")
        stmt = select(Person).options(*_WITH_DETAILS).order_by(Person.employee_no)
        if query.get("q"):
            like = f"%{query['q']}%"
            stmt = stmt.where(or_(Person.name.ilike(like), Person.employee_no.ilike(like),
                                  Person.name_en.ilike(like)))
        if "active" in query:
            stmt = stmt.where(Person.left_on.is_(None) if query["active"] else Person.left_on.is_not(None))
        as_of = query.get("as_of")
        if as_of:
            stmt = stmt.join(Posting, Posting.person_id == Person.id).where(holds_on_clause(Posting, as_of))
            if "section_id" in query:
                stmt = stmt.where(Posting.section_id == query["section_id"])
            if "role" in query:
                stmt = stmt.where(Posting.role == query["role"])
        else:
            if "section_id" in query:
                stmt = stmt.where(Person.section_id == query["section_id"])
            if "role" in query:
                stmt = stmt.where(Person.role == query["role"])
        people = paginate(stmt, pagination_parameters)
        out = [dump_person(p) for p in people]
        if as_of:
            held = {row.person_id: row for row in db.session.scalars(
                select(Posting).where(Posting.person_id.in_([p.id for p in people]),
                                      holds_on_clause(Posting, as_of)))}
            for item in out:
                row = held.get(item["id"])
                if row:
                    item.update(section_id=row.section_id, post=row.post, rank=row.rank, role=row.role)
        return out

    @blp.arguments(PersonSchema)
    @blp.response(201, PersonSchema)
    @blp.alt_response(409, description="Employee number or email taken")
    def post(self, data):
        """Add a person; the welcome email with a link to set a password goes through the outbox"""
        require("write", "person")
        person, _changes = apply_person(data, unit_today())
        from service.auth.accounts import invite

        invite(person)
        db.session.commit()
        return dump_person(person), 201, {"Location": url_for("people.PersonById", person_id=person.id)}


@blp.route("/people/<int:person_id>")
class PersonById(MethodView):
    @blp.response(200, PersonSchema)
    def get(self, person_id):
        """One person"""
        require("read", "person")
        return dump_person(get_or_404(Person, person_id, "person"))

    # Top-level fields are optional; a birthday or relative that is sent must be whole.
    @blp.arguments(PersonPatchSchema(partial=tuple(PersonPatchSchema().load_fields)))
    @blp.response(200, PersonSchema)
    def patch(self, data, person_id):
        """Change a person; section, post, rank and role changes are dated by ``effective_from``"""
        require("write", "person")
        person = get_or_404(Person, person_id, "person")
        # Cross-field rules need the stored values of the fields the request leaves out.
        problem = person_consistency({**snapshot(person), **data})
        if problem:
            field_error(422, *problem)
        apply_person(data, unit_today(), person)
        db.session.commit()
        return dump_person(person)


@blp.route("/people/<int:person_id>/history")
class PersonHistory(MethodView):
    @blp.response(200, PostingSchema(many=True))
    def get(self, person_id):
        """Section, post, rank and role over time (valid_to exclusive)"""
        require("read", "person")
        person = get_or_404(Person, person_id, "person")
        return db.session.scalars(
            select(Posting).where(Posting.person_id == person.id).order_by(Posting.valid_from)).all()


@blp.route("/people/import")
class PeopleImport(MethodView):
    @blp.response(200, ImportResultSchema)
    @blp.alt_response(422, schema=ImportResultSchema, description="Row-level errors; nothing was written")
    def post(self):
        """Import people from CSV (text/csv body or multipart field ``file``): all rows or none"""
        require("write", "person")
        upload = request.files.get("file")
        raw = upload.read() if upload else request.get_data()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            field_error(400, "file", _("The file must be UTF-8 encoded CSV."), location="files")
        if not text.strip():
            field_error(400, "file", _("The file is empty."), location="files")
        result = import_people_csv(text, unit_today())
        if result.errors:
            db.session.rollback()
            abort(422, message=ngettext("%(num)d error; nothing was imported.", "%(num)d errors; nothing was imported.",
                                       len(result.errors)),
                  errors={"rows": result.errors})
        db.session.commit()
        return {"created": result.created, "updated": result.updated,
                "unchanged": result.unchanged, "errors": []}


@blp.route("/people/export.csv")
class PeopleExport(MethodView):
    @blp.response(200, description="CSV of every person (private columns need HR rights)")
    def get(self):
        """Export people as CSV, in the import format"""
        require("read", "person_private")
        people = db.session.scalars(select(Person).options(*_WITH_DETAILS)
                                    .order_by(Person.employee_no)).unique().all()
        audit.record("export", "person", None, {"rows": len(people)})
        db.session.commit()
        return Response(export_people_csv(people), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=people.csv"})
