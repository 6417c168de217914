"""REST API of the official calendar: days, working-day counts, and the unit's override table."""
from __future__ import annotations

import calendar
from datetime import date

from flask import url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from sqlalchemy import extract, select

from schemas.common import Day
from schemas.leave import (
    CalendarOverridePatchSchema, CalendarOverrideSchema, CountSchema, DayInfoSchema, MonthCalendarSchema,
    MonthQuerySchema, OverrideQuerySchema, RangeQuerySchema,
)
from service import audit
from service.api_support import authenticate_api, field_error, get_or_404, require
from service.extensions import db
from service.workdays.models import CalendarOverride
from service.workdays.official import count_working_days, day_info
from service.workdays.overrides import unit_overrides

blp = Blueprint("workdays", __name__, url_prefix="/api/calendar",
                description="Official working days (State Council calendar with make-up days) and the unit's overrides")
blp.before_request(authenticate_api)


def _recount(days: list[date]) -> None:
    # Leave counted over a changed day is counted again, its ledger corrected in this transaction.
    from service.leave.requests import recount_affected

    recount_affected(days)


@blp.route("/days/<string:day>")
class DayView(MethodView):
    @blp.response(200, DayInfoSchema)
    def get(self, day):
        """Whether a date is a working day for the unit, why, and whether that is provisional"""
        require("read", "calendar")
        try:
            parsed = Day().deserialize(day)
        except Exception:
            field_error(422, "day", _("Use a date YYYY-MM-DD between 1900 and 2100."), location="path")
        return day_info(parsed, unit_overrides())._asdict()


@blp.route("/count")
class CountView(MethodView):
    @blp.arguments(RangeQuerySchema, location="query")
    @blp.response(200, CountSchema)
    def get(self, query):
        """Working days from start to end, both included (provisional if a year is unpublished)"""
        require("read", "calendar")
        counted = count_working_days(query["start"], query["end"], unit_overrides())
        return {"start": query["start"], "end": query["end"], "working_days": counted.days,
                "provisional": counted.provisional}


@blp.route("/month")
class MonthView(MethodView):
    @blp.arguments(MonthQuerySchema, location="query")
    @blp.response(200, MonthCalendarSchema)
    def get(self, query):
        """Every day of a month with its status"""
        require("read", "calendar")
        year, month = map(int, query["month"].split("-"))
        overrides = unit_overrides()
        days = [day_info(date(year, month, d), overrides)._asdict()
                for d in range(1, calendar.monthrange(year, month)[1] + 1)]
        return {"month": query["month"], "provisional": any(d["provisional"] for d in days),
                "working_days": sum(d["working"] for d in days), "days": days}


@blp.route("/overrides")
class Overrides(MethodView):
    @blp.arguments(OverrideQuerySchema, location="query")
    @blp.response(200, CalendarOverrideSchema(many=True))
    def get(self, query):
        """The unit's own days off and working days"""
        require("read", "calendar")
        stmt = select(CalendarOverride).order_by(CalendarOverride.day)
        if "year" in query:
            stmt = stmt.where(extract("year", CalendarOverride.day) == query["year"])
        return db.session.scalars(stmt).all()

    @blp.arguments(CalendarOverrideSchema)
    @blp.response(201, CalendarOverrideSchema)
    @blp.alt_response(409, description="The day already has an override")
    def post(self, data):
        """Declare a day off or on for the unit; leave over that day is counted again"""
        require("write", "calendar")
        if db.session.scalar(select(CalendarOverride).where(CalendarOverride.day == data["day"])):
            field_error(409, "day", _("%(day)s already has an override; change or delete it.", day=data["day"]))
        from flask import g

        row = CalendarOverride(**data, created_by_id=g.actor.id)
        db.session.add(row)
        db.session.flush()
        audit.record("create", "calendar_override", row.id, audit.diff({}, data))
        _recount([row.day])
        db.session.commit()
        return row, 201, {"Location": url_for("workdays.OverrideById", override_id=row.id)}


@blp.route("/overrides/<int:override_id>")
class OverrideById(MethodView):
    @blp.response(200, CalendarOverrideSchema)
    def get(self, override_id):
        """One override"""
        require("read", "calendar")
        return get_or_404(CalendarOverride, override_id, "calendar override")

    @blp.arguments(CalendarOverridePatchSchema)
    @blp.response(200, CalendarOverrideSchema)
    def patch(self, data, override_id):
        """Change an override's kind or reason"""
        require("write", "calendar")
        row = get_or_404(CalendarOverride, override_id, "calendar override")
        audit.update(row, data, "calendar_override", row.id)
        db.session.flush()
        _recount([row.day])
        db.session.commit()
        return row

    @blp.response(204)
    def delete(self, override_id):
        """Remove an override: the official calendar applies to that day again"""
        require("write", "calendar")
        row = get_or_404(CalendarOverride, override_id, "calendar override")
        day = row.day
        audit.record("delete", "calendar_override", row.id, {"day": [str(day), None]})
        db.session.delete(row)
        db.session.flush()
        _recount([day])
        db.session.commit()
