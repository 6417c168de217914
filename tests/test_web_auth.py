"""Logging in, CSRF, the rate limit on login, the set-password link, and who sees which page."""
import re

import pytest

from conftest import csrf_of


def test_login_and_logout(client, office, login):
    r = login("HR1")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert "人事干部" in client.get("/").get_data(as_text=True)
    page = client.get("/")
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, office, login):
    r = login("HR1", "wrong password")
    assert r.status_code == 200
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_refused(client, office):
    r = client.post("/login", data={"employee_no": "HR1", "password": "correct horse 1"})
    assert r.status_code == 400
    assert client.get("/").status_code == 302


def test_login_attempts_are_rate_limited(app, client, office, login):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [login("HR1", "wrong").status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        assert login("HR1", "correct horse 1").status_code == 429
        assert login("SA").status_code == 302  # another account is not locked out
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "10 per minute"


def test_open_redirect_after_login_is_refused(client, office):
    page = client.get("/login?next=//evil.example/")
    r = client.post("/login?next=//evil.example/", data={
        "employee_no": "HR1", "password": "correct horse 1", "csrf_token": csrf_of(page)})
    assert r.headers["Location"] == "/"


def test_set_password_link_is_single_use(app, client, office):
    from service.auth.accounts import password_link_token
    from service.extensions import db
    from service.people.models import Person

    with app.test_request_context():
        token = password_link_token(db.session.get(Person, office["staff_a"]))
    page = client.get(f"/set-password/{token}")
    assert page.status_code == 200
    short = client.post(f"/set-password/{token}", data={
        "password": "short", "confirm": "short", "csrf_token": csrf_of(page)})
    assert short.status_code == 200 and "field has-error" in short.get_data(as_text=True)
    ok = client.post(f"/set-password/{token}", data={
        "password": "a much longer one", "confirm": "a much longer one", "csrf_token": csrf_of(page)})
    assert ok.status_code == 302
    assert client.get(f"/set-password/{token}").status_code == 410


@pytest.mark.parametrize("who,path,status", [
    ("SA", "/people", 200), ("SA", "/sections", 200), ("SA", "/tokens", 200),
    ("SA", "/admin/outbox", 403), ("SA", "/admin/mail", 403), ("SA", "/admin/audit", 403),
    ("CA", "/admin/audit", 403), ("L1", "/admin/outbox", 403),
    ("HR1", "/admin/outbox", 200), ("HR1", "/admin/mail", 200), ("HR1", "/admin/audit", 200),
])
def test_pages_follow_permissions(client, office, login, who, path, status):
    login(who)
    assert client.get(path).status_code == status


def test_private_fields_on_person_page(client, office, login):
    login("SB")
    other = client.get(f"/people/{office['staff_a']}").get_data(as_text=True)
    assert "sa@example.org" not in other
    mine = client.get(f"/people/{office['staff_b']}").get_data(as_text=True)
    assert "sb@example.org" in mine


def test_unknown_person_page_is_404_not_500(client, office, login):
    login("HR1")
    assert client.get("/people/999999").status_code == 404
    assert client.get("/people/99999999999999999999").status_code == 404
    assert client.get("/people?page=abc").status_code == 200
