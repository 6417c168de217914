"""Who sees what of a talk: the talkers, the recorder and the talked-to read the content; HR and
other leaders see only that a talk happened (those who lead the person) or nothing; a unit setting
can name discipline-inspection readers. Over the API, the pages, the ledger export and the iCal
feed; every content read is audited, and nothing else is."""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import csrf_of

TODAY = date(2026, 11, 20)
SECRET = "绝密内容：家中困难"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    import service.talks.api
    import service.talks.web

    monkeypatch.setattr(service.talks.api, "unit_today", lambda: TODAY)
    monkeypatch.setattr(service.talks.web, "unit_today", lambda: TODAY)


@pytest.fixture
def talk(app, office, token_for):
    deputy = token_for(office["deputy"])
    r = deputy.post("/api/talks", json={
        "kind": "routine", "held_at": "2026-11-10T09:30", "duration_minutes": 30, "place": "会议室",
        "topic": "近况", "talker_ids": [office["deputy"]], "talked_to_ids": [office["staff_a"]],
        "recorder_id": office["chief_a"], "content": SECRET, "views": "意见", "outline": "提纲", "attitude": "好",
        "follow_ups": [{"owner_id": office["chief_a"], "description": "秘密事项", "due_on": "2026-11-30"}]})
    assert r.status_code == 201
    talk_id = r.get_json()["id"]
    att = deputy.post(f"/api/talks/{talk_id}/attachments", data={"file": (io.BytesIO(PNG), "a.png")},
                      content_type="multipart/form-data").get_json()["id"]
    assert token_for(office["staff_a"]).post(f"/api/talks/{talk_id}/signoff").status_code == 201
    assert deputy.patch(f"/api/talks/{talk_id}", json={"content": SECRET + "（二）"}).get_json()["version"] == 2
    return {"id": talk_id, "attachment": att}


# actor -> (sees the talk happened, reads the content)
MATRIX = {
    "deputy": (True, True),    # talker
    "chief_a": (True, True),   # recorder
    "staff_a": (True, True),   # talked to
    "head": (True, False),     # leads the person: sees the talk, not the content
    "hr": (True, False),       # HR: coverage, not content
    "chief_b": (False, False),  # another section's chief
    "staff_b": (False, False),  # a colleague
}


def content_reads(app) -> list:
    from service.audit.models import AuditEntry
    from service.extensions import db

    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "read")).all()
        out = [(r.actor_id, r.resource) for r in rows]
        db.session.remove()
    return out


@pytest.mark.parametrize("actor", list(MATRIX))
def test_api_matrix(app, office, token_for, talk, actor):
    sees, reads = MATRIX[actor]
    api = token_for(office[actor], "read")
    before = len(content_reads(app))
    r = api.get(f"/api/talks/{talk['id']}")
    assert r.status_code == (200 if sees else 404)
    if sees:
        body = r.get_json()
        assert ("record" in body) is reads
        assert SECRET not in r.get_data(as_text=True) or reads
        assert body["participants"] and body["kind"] == "routine"
    listed = [t["id"] for t in api.get("/api/talks").get_json()]
    assert (talk["id"] in listed) is sees
    assert SECRET not in api.get("/api/talks").get_data(as_text=True)
    versions = api.get(f"/api/talks/{talk['id']}/versions")
    assert versions.status_code == (200 if reads else 403 if sees else 404)
    att = api.get(f"/api/talks/{talk['id']}/attachments/{talk['attachment']}")
    assert att.status_code == (200 if reads else 403 if sees else 404)
    ledger = api.get("/api/talks/ledger.csv").get_data(as_text=True)
    assert (SECRET in ledger) is reads
    assert (("近况" in ledger)) is sees
    items = api.get("/api/talks/follow-ups").get_json()
    assert ("秘密事项" in str(items)) is (reads or actor == "chief_a")
    reads_now = content_reads(app)[before:]
    if reads:
        # the talk (1), two versions (2), the attachment (1), the ledger row (1)
        assert len([r for r in reads_now if r[0] == office[actor]]) == 5
    else:
        assert reads_now == []


@pytest.mark.parametrize("actor", list(MATRIX))
def test_pages_matrix(app, client, office, login, talk, actor):
    sees, reads = MATRIX[actor]
    no = {"deputy": "L2", "chief_a": "CA", "staff_a": "SA", "head": "L1", "hr": "HR1", "chief_b": "CB",
          "staff_b": "SB"}[actor]
    login(no)
    page = client.get(f"/talks/{talk['id']}")
    assert page.status_code == (200 if sees else 404)
    text = page.get_data(as_text=True)
    assert (SECRET in text) is reads
    if sees and not reads:
        assert 'id="content-withheld"' in text
    expected = 200 if reads else 403 if sees else 404
    assert client.get(f"/talks/{talk['id']}/print").status_code == expected
    assert client.get(f"/talks/{talk['id']}/versions").status_code == expected
    edit = client.get(f"/talks/{talk['id']}/edit").status_code
    assert edit == (200 if actor in ("deputy", "chief_a") else 403 if sees else 404)
    dashboard = client.get("/talks/").get_data(as_text=True)
    assert SECRET not in dashboard


def test_discipline_inspection_reader_named_by_the_unit(app, office, token_for, hr_api, talk):
    staff_b = token_for(office["staff_b"], "read")
    assert staff_b.get(f"/api/talks/{talk['id']}").status_code == 404
    assert hr_api.patch("/api/talks/settings", json={"discipline_role_name": "纪检委员",
                                                     "discipline_reader_ids": [office["staff_b"]]}).status_code == 200
    r = staff_b.get(f"/api/talks/{talk['id']}")
    assert r.status_code == 200 and SECRET in r.get_json()["record"]["content"]
    assert (office["staff_b"], "talk_content") in content_reads(app)
    # HR naming a reader does not make HR one.
    assert "record" not in hr_api.get(f"/api/talks/{talk['id']}").get_json()


def test_ical_feed_is_metadata_only_secret_and_revocable(app, client, office, login, talk):
    login("L2")
    page = client.get("/talks/calendar")
    r = client.post("/talks/calendar", data={"new-csrf_token": csrf_of(page), "new-submit": "1"})
    address = re.search(r'<code>([^<]+)</code>', r.get_data(as_text=True)).group(1)
    path = address.split("talkcare.test", 1)[-1] if "talkcare.test" in address else address.split("localhost", 1)[-1]
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/"))})
    feed = client.get(path)
    assert feed.status_code == 200 and feed.content_type.startswith("text/calendar")
    body = feed.get_data(as_text=True).replace("\r\n ", "")  # unfold RFC 5545 long lines
    assert "BEGIN:VEVENT" in body and "科员甲" in body and "会议室" in body
    # Due dates of open obligations as all-day events: chief A was never talked to.
    due = [e for e in body.split("BEGIN:VEVENT")[1:] if "UID:due-" in e]
    assert due and any("科长甲" in e and "DTSTART;VALUE=DATE:" in e for e in due)
    assert SECRET not in body and "意见" not in body and "提纲" not in body
    assert client.get("/talks/calendar/not-the-token.ics").status_code == 404
    login("L2")
    page = client.get("/talks/calendar")
    client.post("/talks/calendar", data={"revoke-csrf_token": csrf_of(page), "revoke-submit": "1"})
    assert client.get(path).status_code == 404
