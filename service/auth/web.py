"""Web pages of access: log in and out, set a password, language, my API tokens."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from service import audit
from service.auth.accounts import (
    MIN_PASSWORD, RESET_MAX_AGE, link_for_token, live_api_tokens, password_ok, request_password_reset,
    revoke_api_tokens, set_password,
)
from service.auth.models import ApiToken
from service.auth.permissions import can
from service.clock import now_utc
from service.extensions import db, limiter
from service.people.models import Person

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    employee_no = StringField(_l("Employee number or email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Log in"))


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD, max=200,
                               message=_l("Use at least %(num)d characters.", num=MIN_PASSWORD))])
    confirm = PasswordField(_l("Repeat the password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])
    submit = SubmitField(_l("Set password"))


class ResetPasswordForm(PasswordForm):
    revoke_tokens = BooleanField(_l("Also revoke my API tokens (do this if someone else may have used my account)"),
                                 default=True)


class ForgotPasswordForm(FlaskForm):
    ident = StringField(_l("Employee number or email"), validators=[DataRequired(), Length(max=254)])
    submit = SubmitField(_l("Send me a link"))


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    scope = SelectField(_l("Access"), choices=[("read", _l("Read only")), ("write", _l("Read and write"))])
    submit = SubmitField(_l("Create token"))


def _login_key() -> str:
    # Per address and account, so one attacker cannot lock everyone out and cannot spray one account.
    return f"{request.remote_addr}|{(request.form.get('employee_no') or '').strip().lower()}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"],
               key_func=_login_key, methods=["POST"],
               error_message="Too many login attempts; wait a minute.")
def login():
    form = LoginForm()
    if form.validate_on_submit():
        ident = form.employee_no.data.strip()
        person = db.session.scalar(select(Person).where(
            (Person.employee_no == ident) | (Person.email == ident.lower())))
        if password_ok(person, form.password.data) and person.is_active:
            login_user(person)
            audit.record("login", "session", person.id, actor=person, via="web")
            db.session.commit()
            target = request.args.get("next", "")
            # Only local paths: no open redirect.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("web.home")
            return redirect(target)
        flash(_("Wrong employee number or password."), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password_page(token):
    """Set a password through a welcome or reset link. Setting it ends the link (single use), every
    other link, and every session of the person (sessions carry a fragment of the password hash)."""
    link = link_for_token(token)
    if link is None:
        return render_template("auth/link_invalid.html"), 410
    person = link.person
    tokens = live_api_tokens(person) if link.purpose == "reset" else []
    form = ResetPasswordForm() if tokens else PasswordForm()
    if form.validate_on_submit():
        set_password(person, form.password.data)
        audit.record("reset_password" if link.purpose == "reset" else "set_password", "person", person.id,
                     actor=person, via="web")
        if tokens and form.revoke_tokens.data:
            revoked = revoke_api_tokens(person)
            audit.record("revoke", "api_token", None, {"tokens": [None, revoked]}, actor=person, via="web")
        db.session.commit()
        if current_user.is_authenticated and current_user.id == person.id:
            logout_user()  # the session of the old password ends here too
        flash(_("Your password is set. Please log in."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/set_password.html", form=form, person=person, purpose=link.purpose,
                           tokens=tokens)


def _reset_limit() -> str:
    return current_app.config.get("PASSWORD_RESET_RATE_LIMIT", "5 per 15 minutes")


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"],
               error_message="Too many requests for a password link; wait a quarter of an hour.")
def forgot_password():
    """Ask for a reset link. The answer is the same whether or not the account exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        person = request_password_reset(form.ident.data)
        if person is not None:
            # Whoever asked is not known (not logged in): the entry keeps the address it came from.
            audit.record("request_reset", "person", person.id, via="web")
        db.session.commit()
        return render_template("auth/forgot_password_sent.html",
                               minutes=int(RESET_MAX_AGE.total_seconds() // 60))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/forgot_password.html", form=form), status


@bp.route("/language/<code>", methods=["POST"])
def language(code):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["language"] = code
    if current_user.is_authenticated:
        current_user.language = code
        db.session.commit()
    target = request.form.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("web.home"))


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    form = TokenForm()
    created = None
    if form.validate_on_submit():
        token, created = ApiToken.issue(current_user.id, form.name.data.strip(), form.scope.data)
        db.session.add(token)
        db.session.flush()
        audit.record("create", "api_token", token.id, {"name": [None, token.name]})
        db.session.commit()
        form = TokenForm(formdata=None)
    rows = db.session.scalars(select(ApiToken).where(ApiToken.person_id == current_user.id)
                              .order_by(ApiToken.id.desc())).all()
    return render_template("auth/tokens.html", form=form, tokens=rows, created=created)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id):
    token = db.session.get(ApiToken, token_id)
    if token is None or not can(current_user, "write", "api_token", token):
        abort(404)
    if token.revoked_at is None:
        token.revoked_at = now_utc()
        audit.record("revoke", "api_token", token.id)
        db.session.commit()
    flash(_("Token revoked."), "info")
    return redirect(url_for("auth.tokens"))
