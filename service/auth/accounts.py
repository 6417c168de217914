"""Accounts: passwords, invitations and the links that set a password."""
from __future__ import annotations

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from service.extensions import db
from service.outbox import queue_email
from service.people.models import Person

LINK_MAX_AGE = 7 * 24 * 3600
MIN_PASSWORD = 10


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="set-password")


def set_password(person: Person, password: str) -> None:
    person.password_hash = generate_password_hash(password)


def password_ok(person: Person | None, password: str) -> bool:
    if person is None or not person.password_hash:
        # Same work for unknown users, so timing does not tell which accounts exist.
        check_password_hash(generate_password_hash("x"), password)
        return False
    return check_password_hash(person.password_hash, password)


def password_link_token(person: Person) -> str:
    # The current hash fragment makes the link single-use: setting a password changes it.
    return _serializer().dumps([person.id, (person.password_hash or "")[-12:]])


def person_for_token(token: str) -> Person | None:
    try:
        person_id, fragment = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    person = db.session.get(Person, person_id)
    if person is None or (person.password_hash or "")[-12:] != fragment or not person.active:
        return None
    return person


def invite(person: Person) -> bool:
    """Queue the welcome email with a link to set a password (once per person)."""
    link = current_app.config["PUBLIC_URL"].rstrip("/") + url_for(
        "auth.set_password_page", token=password_link_token(person))
    return queue_email(person, "welcome", "welcome", f"welcome:{person.id}", link=link)
