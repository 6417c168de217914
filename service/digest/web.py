"""Digest pages: "what I will get on Monday" (the email's own templates) and my preferences."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, SubmitField

from service import audit
from service.care.availability import unit_working_day
from service.clock import unit_today
from service.digest.content import build_digest
from service.digest.loading import load_week, person_views
from service.digest.preferences import digest_settings, preference_of
from service.digest.schedule import next_send_day, week_start
from service.extensions import db

bp = Blueprint("digest", __name__, url_prefix="/digest")


class PreferenceForm(FlaskForm):
    weekly_email = BooleanField(_l("Send me the weekly schedule email"))
    nothing_due_note = BooleanField(_l("In a week with nothing due, send a short note"))
    submit = SubmitField(_l("Save"))


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
    return redirect(url_for("digest.preview"))
