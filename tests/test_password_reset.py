"""Self-service password reset: a neutral answer, rate limits, a short-lived single-use link in the
person's language, the same password rules, and every session of the old password ended."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from conftest import csrf_of


def _outbox(app):
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def _resets(app):
    return [m for m in _outbox(app) if m.kind == "password_reset"]


def _ask(client, ident):
    page = client.get("/forgot-password")
    assert page.status_code == 200
    return client.post("/forgot-password", data={"ident": ident, "csrf_token": csrf_of(page)})


def _link(message) -> str:
    return re.search(r"http://talkcare.test(/set-password/\S+)", message.body_text).group(1)


def _set(client, link, password, confirm=None, **extra):
    page = client.get(link)
    assert page.status_code == 200
    return client.post(link, data={"password": password, "confirm": confirm or password,
                                   "csrf_token": csrf_of(page), **extra})


def _answer(response) -> str:
    html = response.get_data(as_text=True)
    return re.search(r'<section class="card narrow" id="reset-requested">.*?</section>', html, re.S).group(0)


def test_login_page_links_to_the_reset(client, office):
    assert 'href="/forgot-password"' in client.get("/login").get_data(as_text=True)


def test_reset_by_employee_number_sends_a_link_that_sets_the_password(app, client, office, login):
    r = _ask(client, "SA")
    assert r.status_code == 200
    mails = _resets(app)
    assert [(m.to_address, m.dedupe_key) for m in mails] == [("sa@example.org", f"password_reset:{office['staff_a']}:v1")]
    link = _link(mails[0])
    assert _set(client, link, "a brand new secret").status_code == 302
    assert login("SA", "correct horse 1").status_code == 200  # the old password is gone
    assert login("SA", "a brand new secret").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/"))})
    assert client.get(link).status_code == 410  # single use


def test_reset_by_email_in_any_case(app, client, office):
    _ask(client, "  SA@Example.org ")
    assert [m.to_address for m in _resets(app)] == ["sa@example.org"]


@pytest.mark.parametrize("ident", ["NOBODY", "nobody@example.org", "SB-left", "SA-no-mail"])
def test_the_answer_is_the_same_for_unknown_left_and_mailless_accounts(app, client, office, ident):
    from service.extensions import db
    from service.people.models import Person
    from datetime import date

    with app.app_context():
        db.session.get(Person, office["staff_b"]).left_on = date(2026, 1, 1)
        db.session.get(Person, office["staff_a"]).email = None
        db.session.commit()
    known = _ask(client, "CA")
    assert len(_resets(app)) == 1
    other = _ask(client, ident.split("-")[0])
    assert other.status_code == known.status_code == 200
    assert _answer(other) == _answer(known)
    assert len(_resets(app)) == 1


def test_mail_is_in_the_persons_language(app, client, office):
    from service.extensions import db
    from service.people.models import Person

    with app.app_context():
        db.session.get(Person, office["staff_a"]).language = "en"
        db.session.commit()
    _ask(client, "SA")
    _ask(client, "SB")
    by_address = {m.to_address: m for m in _resets(app)}
    assert by_address["sa@example.org"].language == "en"
    assert by_address["sa@example.org"].subject == "Choose a new talkcare password"
    assert "60 minutes" in by_address["sa@example.org"].body_text
    assert by_address["sb@example.org"].language == "zh_CN"


def test_the_same_password_rules_as_set_password(app, client, office):
    _ask(client, "SA")
    link = _link(_resets(app)[0])
    short = _set(client, link, "short")
    assert short.status_code == 200 and 'id="password-error"' in short.get_data(as_text=True)
    differ = _set(client, link, "a long enough one", "another long one")
    assert 'id="confirm-error"' in differ.get_data(as_text=True)
    assert client.get(link).status_code == 200  # still usable after rejected tries


def test_every_session_of_the_old_password_ends(app, office, login):
    from service.auth.accounts import password_link_token  # noqa: F401 (the module under test)

    phone, laptop = app.test_client(), app.test_client()
    for c in (phone, laptop):
        page = c.get("/login")
        assert c.post("/login", data={"employee_no": "SA", "password": "correct horse 1",
                                      "csrf_token": csrf_of(page)}).status_code == 302
        assert c.get("/").status_code == 200
    stranger = app.test_client()
    _ask(stranger, "SA")
    _set(stranger, _link(_resets(app)[0]), "a brand new secret")
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 302


def test_the_link_expires_after_an_hour(app, client, office):
    from service.auth.accounts import link_for_token, password_link_token
    from service.clock import now_utc
    from service.extensions import db
    from service.people.models import Person

    with app.test_request_context():
        p = db.session.get(Person, office["staff_a"])
        old = password_link_token(p, "reset", issued_at=now_utc() - timedelta(minutes=61))
        fresh = password_link_token(p, "reset", issued_at=now_utc() - timedelta(minutes=59))
        welcome = password_link_token(p, "welcome", issued_at=now_utc() - timedelta(days=6))
        assert link_for_token(fresh) is not None
        assert link_for_token(fresh, now_utc() + timedelta(minutes=2)) is None
    assert client.get(f"/set-password/{old}").status_code == 410
    assert client.get(f"/set-password/{fresh}").status_code == 200
    assert client.get(f"/set-password/{welcome}").status_code == 200  # a welcome link lasts seven days


def test_forged_or_garbled_links_do_not_work(app, client, office):
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("not the key", salt="set-password").dumps([office["staff_a"], "", 0, "reset"])
    assert client.get(f"/set-password/{forged}").status_code == 410
    assert client.get("/set-password/garbage").status_code == 410
    with app.test_request_context():
        from service.auth.accounts import _serializer

        odd = _serializer().dumps([office["staff_a"], "", 0, "admin"])
        huge = _serializer().dumps([2**40, "", 0, "reset"])
    assert client.get(f"/set-password/{odd}").status_code == 410
    assert client.get(f"/set-password/{huge}").status_code == 410


def test_one_email_per_person_per_ten_minutes_and_the_first_link_keeps_working(app, client, office):
    _ask(client, "SA")
    _ask(client, "sa@example.org")
    assert len(_resets(app)) == 1
    first = _link(_resets(app)[0])
    assert client.get(first).status_code == 200
    # Later (the core takes the time) a new request replaces the link.
    from service.auth.accounts import request_password_reset
    from service.clock import now_utc
    from service.extensions import db

    with app.test_request_context():
        assert request_password_reset("SA", now_utc() + timedelta(minutes=11)) is not None
        db.session.commit()
    resets = _resets(app)
    assert len(resets) == 2
    assert client.get(first).status_code == 410
    assert client.get(_link(resets[1])).status_code == 200


def test_a_reset_replaces_a_pending_welcome_link(app, client, office):
    from service.auth.accounts import password_link_token
    from service.extensions import db
    from service.people.models import Person

    with app.test_request_context():
        welcome = password_link_token(db.session.get(Person, office["staff_a"]))
    _ask(client, "SA")
    assert client.get(f"/set-password/{welcome}").status_code == 410


def test_requests_are_rate_limited_per_address(app, client, office):
    app.config["PASSWORD_RESET_RATE_LIMIT"] = "2 per minute"
    try:
        assert _ask(client, "NOBODY").status_code == 200
        assert _ask(client, "SA").status_code == 200
        assert _ask(client, "SB").status_code == 429
    finally:
        app.config.pop("PASSWORD_RESET_RATE_LIMIT")
    assert [m.to_address for m in _resets(app)] == ["sa@example.org"]


def test_reset_request_needs_the_csrf_token(app, client, office):
    assert client.post("/forgot-password", data={"ident": "SA"}).status_code == 400
    assert _resets(app) == []


def test_empty_request_is_shown_next_to_the_field(app, client, office):
    r = _ask(client, "")
    assert r.status_code == 422 and 'id="ident-error"' in r.get_data(as_text=True)
    assert _resets(app) == []


def _token(app, person_id):
    from service.auth.models import ApiToken
    from service.extensions import db

    with app.app_context():
        token, clear = ApiToken.issue(person_id, "test", "read")
        db.session.add(token)
        db.session.commit()
    return clear


@pytest.mark.parametrize("revoke,status", [("y", 401), (None, 200)])
def test_api_tokens_are_revoked_when_asked(app, client, office, revoke, status):
    clear = _token(app, office["hr"])
    _ask(client, "HR1")
    link = _link(_resets(app)[0])
    assert 'id="revoke_tokens"' in client.get(link).get_data(as_text=True)
    extra = {"revoke_tokens": revoke} if revoke else {}
    assert _set(client, link, "a brand new secret", **extra).status_code == 302
    r = client.get("/api/sections", headers={"Authorization": f"Bearer {clear}"})
    assert r.status_code == status


def test_reset_is_audited(app, client, office):
    from service.audit.models import AuditEntry
    from service.extensions import db

    _ask(client, "SA")
    _set(client, _link(_resets(app)[0]), "a brand new secret")
    with app.app_context():
        actions = [a.action for a in db.session.scalars(
            select(AuditEntry).where(AuditEntry.resource == "person", AuditEntry.resource_id == str(office["staff_a"])))]
    assert "request_reset" in actions and "reset_password" in actions
