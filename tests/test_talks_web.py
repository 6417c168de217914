"""Talk pages: the form (validation next to the field, CSRF, pickers), the talk page with sign-off
and versions, the printable sheet, the leader's dashboard turning green, HR's heatmap."""
from __future__ import annotations

import re
from datetime import date

import pytest

from tests.conftest import csrf_of
from tests.test_permissions import db_state

TODAY = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    import service.talks.api
    import service.talks.web

    monkeypatch.setattr(service.talks.api, "unit_today", lambda: TODAY)
    monkeypatch.setattr(service.talks.web, "unit_today", lambda: TODAY)


def form_data(csrf, **over):
    data = {"csrf_token": csrf, "kind": "routine", "held_at": "2026-11-10T09:30", "duration_minutes": "40",
            "place": "小会议室", "talkers": "L2 副主任", "talked_to": "SA 科员甲", "recorder": "CA",
            "present": "", "topic": "近况", "outline": "提纲", "content": "机密内容甲", "views": "希望培训",
            "attitude": "积极", "follow_up_text": "安排培训", "fu_description": "报名培训", "fu_owner": "CA",
            "fu_due_on": "2026-11-30"}
    data.update(over)
    return data


def test_dashboard_due_list_turns_green_after_recording(app, client, office, login):
    login("L2")
    page = client.get("/talks/").get_data(as_text=True)
    assert 'data-person="%d" data-period="2026-11-01" data-rule="deputy-monthly" data-status="due"' % office["staff_a"] in page
    new = client.get("/talks/new")
    assert new.status_code == 200 and 'list="people-list"' in new.get_data(as_text=True)
    r = client.post("/talks/new", data=form_data(csrf_of(new)))
    assert r.status_code == 302, r.get_data(as_text=True)
    talk_page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "机密内容甲" in talk_page and 'class="unsigned"' in talk_page
    page = client.get("/talks/").get_data(as_text=True)
    assert 'data-person="%d" data-period="2026-11-01"' % office["staff_a"] not in page
    row = re.search(r'<tr data-person="%d">(.*?)</tr>' % office["staff_a"], page, re.S).group(1)
    assert 'data-month="2026-11"' in row and re.search(r'class="cell green" data-month="2026-11"', row)


@pytest.mark.parametrize("change,field", [
    ({"held_at": ""}, "held_at"), ({"held_at": "not-a-date"}, "held_at"), ({"duration_minutes": "0"}, "duration_minutes"),
    ({"duration_minutes": "abc"}, "duration_minutes"), ({"place": ""}, "place"), ({"talked_to": "NOBODY"}, "talked_to"),
    ({"talked_to": ""}, "talked_to"), ({"talkers": "CB"}, "talkers"), ({"kind": "gossip"}, "kind"),
    ({"held_at": "2026-12-25T09:00"}, "held_at"), ({"talked_to": "SA, CA"}, "talked_to"),
    ({"fu_owner": ""}, "fu_owner"), ({"fu_due_on": ""}, "fu_due_on"), ({"recorder": "SA, CA"}, "recorder"),
])
def test_form_errors_next_to_the_field_and_nothing_saved(app, client, office, login, change, field):
    login("L2")
    new = client.get("/talks/new")
    before = db_state(app)
    r = client.post("/talks/new", data=form_data(csrf_of(new), **change))
    assert r.status_code == 422
    assert f'id="{field}-error"' in r.get_data(as_text=True), r.get_data(as_text=True)[-3000:]
    assert db_state(app) == before


def test_form_needs_csrf(app, client, office, login):
    login("L2")
    before = db_state(app)
    r = client.post("/talks/new", data=form_data(""))
    assert r.status_code in (400, 422)
    assert db_state(app) == before


def test_attachment_by_content_in_the_form(app, client, office, login):
    import io

    login("L2")
    new = client.get("/talks/new")
    before = db_state(app)
    data = form_data(csrf_of(new), attachment=(io.BytesIO(b"GIF89a not allowed"), "photo.png"))
    r = client.post("/talks/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 422 and 'id="attachment-error"' in r.get_data(as_text=True)
    assert db_state(app) == before
    data = form_data(csrf_of(new), attachment=(io.BytesIO(b"%PDF-1.7 ok"), "scan.pdf"))
    r = client.post("/talks/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    assert "scan.pdf" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_sign_off_edit_new_version_and_past_versions(app, client, office, login):
    login("L2")
    r = client.post("/talks/new", data=form_data(csrf_of(client.get("/talks/new"))))
    talk_url = r.headers["Location"]
    talk_id = int(talk_url.rsplit("/", 1)[1])
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/"))})
    login("SA")
    page = client.get(talk_url)
    assert 'id="sign-talk"' in page.get_data(as_text=True)
    assert client.get("/talks/").get_data(as_text=True).count(f"/talks/{talk_id}") >= 1
    r = client.post(f"/talks/{talk_id}/sign", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 302
    page = client.get(talk_url).get_data(as_text=True)
    assert 'id="sign-talk"' not in page and 'class="signed"' in page
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/"))})
    login("L2")
    edit = client.get(f"/talks/{talk_id}/edit")
    assert "机密内容甲" in edit.get_data(as_text=True)
    r = client.post(f"/talks/{talk_id}/edit", data=form_data(csrf_of(edit), content="更正内容乙", fu_description=""))
    assert r.status_code == 302
    page = client.get(talk_url).get_data(as_text=True)
    assert "更正内容乙" in page and 'class="unsigned"' in page
    versions = client.get(f"/talks/{talk_id}/versions").get_data(as_text=True)
    assert "机密内容甲" in versions and "更正内容乙" in versions
    sheet = client.get(f"/talks/{talk_id}/print")
    assert sheet.status_code == 200 and "@media print" in sheet.get_data(as_text=True)


def test_hr_dashboard_heatmap_and_trend(app, client, office, login, token_for):
    token_for(office["deputy"]).post("/api/talks", json={
        "kind": "routine", "held_at": "2026-11-10T09:30", "duration_minutes": 30, "place": "x", "topic": "y",
        "talker_ids": [office["deputy"]], "talked_to_ids": [office["staff_a"]], "content": "保密"})
    login("HR1")
    page = client.get("/talks/").get_data(as_text=True)
    assert 'id="heatmap"' in page and "<svg" in page and 'id="overdue-by-leader"' in page
    assert "保密" not in page and "cdn" not in page.lower()


def test_pages_in_english(app, client, office, login):
    login("L2")
    client.post("/language/en", data={"csrf_token": csrf_of(client.get("/")), "next": "/talks/"})
    page = client.get("/talks/new").get_data(as_text=True)
    assert "Record a talk" in page


def test_unknown_talk_pages_are_404(app, client, office, login):
    login("L2")
    for url in ("/talks/99999", "/talks/99999/edit", "/talks/99999/print", "/talks/99999/versions",
                f"/talks/{2**40}"):
        assert client.get(url).status_code == 404, url
