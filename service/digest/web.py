"""Digest pages: "what I will get on Monday" (the email's own templates), my preferences, my
notification centre (the notices the outbox holds for me), and HR's send day and hour."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import BooleanField, HiddenField, SelectField, SubmitField

from service import audit
from service.care.availability import unit_working_day
from service.clock import unit_today
from service.digest.content import build_digest
from service.digest.loading import load_week, person_views
from service.digest.preferences import digest_settings, preference_of
from service.digest.schedule import next_send_day, week_start
from service.auth.permissions import can
from service.extensions import db
from service.outbox.models import OutboxMessage

bp = Blueprint("digest", __name__, url_prefix="/digest")


class PreferenceForm(FlaskForm):
    weekly_email = BooleanField(_l("Send me the weekly schedule email"))
    nothing_due_note = BooleanField(_l("In a week with nothing due, send a short note"))
    back = HiddenField()  # the page to return to: the preview or the notification centre
    submit = SubmitField(_l("Save"))


WEEKDAYS = [(0, _l("Monday")), (1, _l("Tuesday")), (2, _l("Wednesday")), (3, _l("Thursday")),
            (4, _l("Friday")), (5, _l("Saturday")), (6, _l("Sunday"))]


class SettingsForm(FlaskForm):
    send_weekday = SelectField(_l("Send day"), choices=WEEKDAYS, coerce=int)
    send_hour = SelectField(_l("Send hour"), choices=[(h, f"{h:02d}:00") for h in range(24)], coerce=int)
    submit = SubmitField(_l("Save"))


NOTICES_PER_PAGE = 20


@bp.route("/preview")
@login_required
def preview():
    me = current_user._get_current_object()
    today = unit_today()
    settings = digest_settings()
    day = next_send_day(today, settings.send_weekday, unit_working_day())
    view = person_views([me], day)[0]
    digest = build_digest(view, week_start(day), load_week([view], week_start(day), day))
    pref = preference_of(me.id)
    form = PreferenceForm(weekly_email=pref.weekly_email, nothing_due_note=pref.nothing_due_note)
    with force_locale(me.language or "zh_CN"):
        body = Markup(render_template("digest/_sections.html", digest=digest, recipient=me, send_day=day))
    return render_template("digest/preview.html", body=body, digest=digest, send_day=day, form=form, pref=pref)


@bp.route("/preferences", methods=["POST"])
@login_required
def preferences():
    form = PreferenceForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("digest.preview"))
    row = preference_of(current_user.id, for_update=True)
    data = {"weekly_email": bool(form.weekly_email.data), "nothing_due_note": bool(form.nothing_due_note.data)}
    audit.update(row, data, "digest_preference", current_user.id)
    db.session.commit()
    flash(_("Your weekly email preferences are saved."))
    return redirect(url_for("digest.notices" if form.back.data == "notices" else "digest.preview"))


@bp.route("/notices")
@login_required
def notices():
    """My notification centre: every notice addressed to me, newest first, and my preferences."""
    me = current_user._get_current_object()
    if not can(me, "read", "digest_notices", me):
        abort(403)
    try:
        page = max(1, min(int(request.args.get("page", 1)), 100000))
    except ValueError:
        page = 1
    mine = OutboxMessage.recipient_id == me.id
    total = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(mine)) or 0
    pages = max(1, -(-total // NOTICES_PER_PAGE))
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.subject, OutboxMessage.status,
               OutboxMessage.created_at, OutboxMessage.sent_at)  # never the bodies: a page stays small
        .where(mine).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(NOTICES_PER_PAGE).offset((page - 1) * NOTICES_PER_PAGE)).all()
    pref = preference_of(me.id)
    form = PreferenceForm(weekly_email=pref.weekly_email, nothing_due_note=pref.nothing_due_note, back="notices")
    return render_template("digest/notices.html", rows=rows, page=page, pages=pages, total=total,
                           form=form, pref=pref)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """HR sets the unit's send day and hour (the API's PATCH /api/digest/settings, on a page)."""
    if not can(current_user, "write", "digest_settings"):
        abort(403)
    row = digest_settings()
    form = SettingsForm(send_weekday=row.send_weekday, send_hour=row.send_hour)
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return render_template("digest/settings.html", form=form), 400
        row = digest_settings(for_update=True)
        audit.update(row, {"send_weekday": form.send_weekday.data, "send_hour": form.send_hour.data},
                     "digest_settings", current_user.id)
        db.session.commit()
        flash(_("The weekly email's send time is saved."))
        return redirect(url_for("digest.settings"))
    return render_template("digest/settings.html", form=form)
