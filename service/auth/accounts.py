"""Accounts: passwords, invitations and the links that set a password.

A set-password link is a signed token ``[person id, password-hash fragment, version, purpose]``:
- single use: setting a password changes the hash, so the fragment no longer matches;
- one live link per person: issuing a new link (HR re-sends the welcome, the person asks for a
  reset) raises the person's link version, so every older link stops working;
- short-lived: a welcome link is valid for seven days, a reset link for one hour.
Links issued before versions existed carry two items; they count as version 0 of a welcome link.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, url_for
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from service.auth.models import ApiToken, PasswordLink
from service.clock import now_utc
from service.extensions import db
from service.outbox import queue_email
from service.people.models import Person

WELCOME_MAX_AGE = timedelta(days=7)
RESET_MAX_AGE = timedelta(hours=1)
LINK_MAX_AGE = int(WELCOME_MAX_AGE.total_seconds())  # kept for callers of the old name
# At most one welcome link per person in this time (HR's "send again" button) ...
RESEND_INTERVAL = timedelta(minutes=10)
# ... and at most one self-service reset email per person in this time, whoever asks.
RESET_INTERVAL = timedelta(minutes=10)
MIN_PASSWORD = 10
PURPOSES = {"welcome": WELCOME_MAX_AGE, "reset": RESET_MAX_AGE}


def _serializer(issued_at: datetime | None = None) -> URLSafeTimedSerializer:
    signer = TimestampSigner
    if issued_at is not None:
        # A token dated in the past (tests of expiry, through the same code path).
        stamp = int(issued_at.timestamp())
        signer = type("DatedSigner", (TimestampSigner,), {"get_timestamp": lambda self: stamp})
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="set-password", signer=signer)


def set_password(person: Person, password: str) -> None:
    person.password_hash = generate_password_hash(password)


def password_ok(person: Person | None, password: str) -> bool:
    if person is None or not person.password_hash:
        # Same work for unknown users, so timing does not tell which accounts exist.
        check_password_hash(generate_password_hash("x"), password)
        return False
    return check_password_hash(person.password_hash, password)


def _state(person: Person) -> PasswordLink:
    """The person's link state, created (version 0) on first use."""
    state = db.session.get(PasswordLink, person.id)
    if state is None:
        state = PasswordLink(person_id=person.id, version=0)
        db.session.add(state)
    return state


def _version(person: Person) -> int:
    state = db.session.get(PasswordLink, person.id)
    return state.version if state is not None else 0


def password_link_token(person: Person, purpose: str = "welcome", issued_at: datetime | None = None) -> str:
    """A token for the person's current link (does not replace older links; see ``new_link``)."""
    # The current hash fragment makes the link single-use: setting a password changes it.
    return _serializer(issued_at).dumps([person.id, (person.password_hash or "")[-12:], _version(person), purpose])


def _absolute_link(token: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for("auth.set_password_page", token=token)


def new_link(person: Person, purpose: str) -> tuple[str, int]:
    """Replace every earlier link of the person with a new one: (absolute URL, its version)."""
    state = _state(person)
    state.version = (state.version or 0) + 1
    db.session.flush()
    return _absolute_link(password_link_token(person, purpose)), state.version


@dataclass
class Link:
    person: Person
    purpose: str  # welcome | reset


def link_for_token(token: str, now: datetime | None = None) -> Link | None:
    """The person and purpose of a live link, or None (forged, used, replaced, expired, left)."""
    now = now or now_utc()
    try:
        payload, signed_at = _serializer().loads(token, return_timestamp=True)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(payload, list) or len(payload) not in (2, 4):
        return None
    person_id, fragment, version, purpose = payload if len(payload) == 4 else [*payload, 0, "welcome"]
    if purpose not in PURPOSES or not isinstance(person_id, int) or now - signed_at > PURPOSES[purpose]:
        return None
    person = db.session.get(Person, person_id) if 1 <= person_id < 2**31 else None
    if (person is None or not person.active or (person.password_hash or "")[-12:] != fragment
            or _version(person) != version):
        return None
    return Link(person, purpose)


def person_for_token(token: str) -> Person | None:
    link = link_for_token(token)
    return link.person if link else None


def invite(person: Person) -> bool:
    """Queue the welcome email with a link to set a password (once per person)."""
    link = _absolute_link(password_link_token(person))
    queued = queue_email(person, "welcome", "welcome", f"welcome:{person.id}", link=link)
    if queued:
        state = _state(person)
        state.sent_at, state.sent_to = now_utc(), person.email
    return queued


def wait_before_resend(last_sent: datetime | None, now: datetime, interval: timedelta) -> timedelta | None:
    """How long to wait before another link email may go out, or None if it may go now."""
    if last_sent is None or now - last_sent >= interval:
        return None
    return interval - (now - last_sent)


@dataclass
class ResendResult:
    sent: bool
    reason: str = ""  # left | no_email | too_soon
    retry_at: datetime | None = None


def resend_welcome(person: Person, now: datetime | None = None) -> ResendResult:
    """HR sends a new welcome / set-password link: the old link stops working. At most once per
    ``RESEND_INTERVAL`` per person, unless the address changed since the last one."""
    now = now or now_utc()
    if not person.active:
        return ResendResult(False, "left")
    if not person.email:
        return ResendResult(False, "no_email")
    state = db.session.get(PasswordLink, person.id)
    if state is not None and state.sent_to == person.email:
        wait = wait_before_resend(state.sent_at, now, RESEND_INTERVAL)
        if wait is not None:
            return ResendResult(False, "too_soon", now + wait)
    link, version = new_link(person, "welcome")
    queue_email(person, "welcome", "welcome", f"welcome:{person.id}:v{version}", link=link)
    state = _state(person)
    state.sent_at, state.sent_to = now, person.email
    return ResendResult(True)


def find_account(ident: str) -> Person | None:
    """The person an employee number or email names (as on the login page)."""
    ident = (ident or "").strip()
    if not ident:
        return None
    return db.session.scalar(select(Person).where(
        (Person.employee_no == ident) | (Person.email == ident.lower())))


def request_password_reset(ident: str, now: datetime | None = None) -> Person | None:
    """Queue a reset link for the account ``ident`` names, if any: the person if an email was queued.
    The caller answers the same either way (no account enumeration)."""
    now = now or now_utc()
    person = find_account(ident)
    if person is None or not person.active or not person.email:
        return None
    state = db.session.get(PasswordLink, person.id)
    if state is not None and wait_before_resend(state.reset_sent_at, now, RESET_INTERVAL) is not None:
        return None  # the link sent a moment ago still works
    link, version = new_link(person, "reset")
    queue_email(person, "password_reset", "password_reset", f"password_reset:{person.id}:v{version}",
                link=link, minutes=int(RESET_MAX_AGE.total_seconds() // 60))
    _state(person).reset_sent_at = now
    return person


def live_api_tokens(person: Person) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(
        ApiToken.person_id == person.id, ApiToken.revoked_at.is_(None))))


def revoke_api_tokens(person: Person, now: datetime | None = None) -> int:
    """Revoke every live API token of the person (after a reset, if someone else had the account)."""
    tokens = live_api_tokens(person)
    for token in tokens:
        token.revoked_at = now or now_utc()
    return len(tokens)
