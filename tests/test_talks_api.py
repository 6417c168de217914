"""Talks over the API: recording, versions and sign-off, attachments, follow-ups, kinds, rules,
triggers, obligations; every bad-input class answers a 4xx naming the field and changes nothing."""
from __future__ import annotations

from datetime import date

import pytest

from tests.test_permissions import db_state

TODAY = date(2026, 11, 20)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%..."


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    import service.talks.api
    import service.talks.web

    monkeypatch.setattr(service.talks.api, "unit_today", lambda: TODAY)
    monkeypatch.setattr(service.talks.web, "unit_today", lambda: TODAY, raising=False)


def talk_body(office, **over):
    body = {"kind": "routine", "held_at": "2026-11-10T09:30", "duration_minutes": 45, "place": "小会议室",
            "topic": "工作近况", "talker_ids": [office["deputy"]], "talked_to_ids": [office["staff_a"]],
            "recorder_id": office["chief_a"], "outline": "提纲", "content": "谈话内容：家里老人身体欠佳",
            "views": "希望调整值班", "attitude": "诚恳", "follow_up_text": "协调值班",
            "follow_ups": [{"owner_id": office["chief_a"], "description": "调整值班表", "due_on": "2026-11-15"}]}
    body.update(over)
    return body


@pytest.fixture
def deputy(office, token_for):
    return token_for(office["deputy"])


def test_record_a_talk_and_read_it_back(app, office, deputy):
    r = deputy.post("/api/talks", json=talk_body(office))
    assert r.status_code == 201, r.get_json()
    talk = r.get_json()
    assert r.headers["Location"].endswith(f"/api/talks/{talk['id']}")
    assert talk["record"]["content"] == "谈话内容：家里老人身体欠佳"
    assert talk["signed"] is False and talk["version"] == 1
    assert {p["role"] for p in talk["participants"]} == {"talker", "talked_to", "recorder"}
    assert talk["follow_up_items"][0]["status"] == "red"  # due 11-15, today 11-20
    got = deputy.get(f"/api/talks/{talk['id']}").get_json()
    assert got["held_at"].startswith("2026-11-10T09:30")


def test_content_reads_are_audited(app, office, deputy, hr_api):
    talk_id = deputy.post("/api/talks", json=talk_body(office)).get_json()["id"]
    deputy.get(f"/api/talks/{talk_id}")
    audit = hr_api.get("/api/audit?page_size=100").get_json()
    reads = [a for a in audit if a["action"] == "read" and a["resource"] == "talk_content"]
    assert len(reads) == 2  # the creation's answer and the GET
    assert all(a["actor_id"] == office["deputy"] for a in reads)


def test_signoff_then_edit_makes_a_new_version(app, office, deputy, token_for):
    talk_id = deputy.post("/api/talks", json=talk_body(office)).get_json()["id"]
    staff = token_for(office["staff_a"])
    # Only the talked-to person signs.
    assert deputy.post(f"/api/talks/{talk_id}/signoff").status_code == 403
    r = staff.post(f"/api/talks/{talk_id}/signoff")
    assert r.status_code == 201 and r.get_json()["signed"] is True
    assert staff.post(f"/api/talks/{talk_id}/signoff").status_code == 409
    r = deputy.patch(f"/api/talks/{talk_id}", json={"content": "更正后的内容"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["version"] == 2 and r.get_json()["signed"] is False
    versions = staff.get(f"/api/talks/{talk_id}/versions").get_json()
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[0]["content"] == "谈话内容：家里老人身体欠佳" and versions[0]["signed_by"] == [office["staff_a"]]
    assert versions[1]["content"] == "更正后的内容" and versions[1]["signed_by"] == []
    # Before sign-off an edit stays in the same version.
    r = deputy.patch(f"/api/talks/{talk_id}", json={"place": "办公室"})
    assert r.get_json()["version"] == 2
    assert staff.post(f"/api/talks/{talk_id}/signoff").get_json()["signed"] is True


def test_collective_talk_needs_the_flag(app, office, deputy):
    body = talk_body(office, talked_to_ids=[office["staff_a"], office["chief_a"]], recorder_id=None, follow_ups=[])
    r = deputy.post("/api/talks", json=body)
    assert r.status_code == 422 and "talked_to_ids" in r.get_json()["errors"]["json"]
    body["collective"] = True
    assert deputy.post("/api/talks", json=body).status_code == 201


BAD = [
    ("kind", {"kind": "gossip"}, 422),
    ("kind", {"kind": ""}, 422),
    ("held_at", {"held_at": "yesterday"}, 422),
    ("held_at", {"held_at": "2026-12-31T10:00"}, 422),  # a held talk in the future
    ("held_at", {"held_at": "3026-01-01T10:00"}, 422),
    ("duration_minutes", {"duration_minutes": 0}, 422),
    ("duration_minutes", {"duration_minutes": "45"}, 422),
    ("place", {"place": ""}, 422),
    ("topic", {"topic": "a\x00b"}, 422),
    ("talker_ids", {"talker_ids": []}, 422),
    ("talker_ids", {"talker_ids": [99999]}, 422),
    ("talker_ids", {"talker_ids": [2**40]}, 422),
    ("talked_to_ids", {"talked_to_ids": "x"}, 422),
    ("talked_to_ids", {"talked_to_ids": [99999]}, 422),
    ("outline", {"outline": 5}, 422),
    ("content", {"content": "x" * 50001}, 422),
    ("follow_ups", {"follow_ups": [{"owner_id": 1}]}, 422),
    ("status", {"status": "cancelled"}, 422),
]


@pytest.mark.parametrize("field,change,status", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_talk_input_is_refused_and_changes_nothing(app, office, deputy, field, change, status):
    before = db_state(app)
    r = deputy.post("/api/talks", json=talk_body(office, **change))
    assert r.status_code == status, r.get_json()
    errors = r.get_json()["errors"]["json"]
    assert any(k.split(".")[0] == field for k in errors), errors
    assert db_state(app) == before


def test_talked_to_cannot_be_talker_and_outsiders_cannot_record(app, office, deputy, token_for):
    r = deputy.post("/api/talks", json=talk_body(office, talked_to_ids=[office["deputy"]]))
    assert r.status_code == 422
    other = token_for(office["chief_b"])
    before = db_state(app)
    r = other.post("/api/talks", json=talk_body(office))
    assert r.status_code == 403 and "talker_ids" in r.get_json()["errors"]["json"]
    assert db_state(app) == before
    assert token_for(office["deputy"], "read").post("/api/talks", json=talk_body(office)).status_code == 403


def test_bad_json_body_and_unknown_talk(app, office, deputy):
    r = deputy.post("/api/talks", data="{not json", content_type="application/json")
    assert 400 <= r.status_code < 500
    assert deputy.get("/api/talks/99999").status_code == 404
    assert deputy.get(f"/api/talks/{2**40}").status_code == 404
    assert deputy.patch("/api/talks/99999", json={"place": "x"}).status_code == 404


def test_patch_bad_input_changes_nothing(app, office, deputy):
    talk_id = deputy.post("/api/talks", json=talk_body(office)).get_json()["id"]
    before = db_state(app)
    for body, field in (({"duration_minutes": -1}, "duration_minutes"), ({"talked_to_ids": [99999]}, "talked_to_ids"),
                        ({"kind": "nope"}, "kind"), ({"talker_ids": [office["chief_b"]]}, "talker_ids")):
        r = deputy.patch(f"/api/talks/{talk_id}", json=body)
        assert 400 <= r.status_code < 500 and field in r.get_json()["errors"]["json"], (body, r.get_json())
    assert db_state(app) == before


def test_attachments_checked_by_content_and_size(app, office, deputy, token_for):
    import io

    talk_id = deputy.post("/api/talks", json=talk_body(office)).get_json()["id"]
    r = deputy.post(f"/api/talks/{talk_id}/attachments", data={"file": (io.BytesIO(PNG), "scan.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 201 and r.get_json()["content_type"] == "image/png"
    att = r.get_json()["id"]
    before = db_state(app)
    for data, status in ((b"MZ\x90\x00 evil", 415), (b"", 400), (b"%PDF-" + b"0" * (5 * 1024 * 1024), 413)):
        r = deputy.post(f"/api/talks/{talk_id}/attachments", data={"file": (io.BytesIO(data), "x.pdf")},
                        content_type="multipart/form-data")
        assert r.status_code == status and "file" in r.get_json()["errors"]["files"]
    assert deputy.post(f"/api/talks/{talk_id}/attachments", data={}).status_code == 400
    assert db_state(app) == before
    got = token_for(office["staff_a"]).get(f"/api/talks/{talk_id}/attachments/{att}")
    assert got.status_code == 200 and got.data == PNG
    assert token_for(office["head"]).get(f"/api/talks/{talk_id}/attachments/{att}").status_code == 403
    assert token_for(office["hr"]).get(f"/api/talks/{talk_id}/attachments/{att}").status_code == 403


def test_follow_ups_close_and_reopen(app, office, deputy, token_for):
    deputy.post("/api/talks", json=talk_body(office))
    chief = token_for(office["chief_a"])
    items = chief.get("/api/talks/follow-ups?owner_id=%d" % office["chief_a"]).get_json()
    assert len(items) == 1 and items[0]["status"] == "red" and items[0]["description"] == "调整值班表"
    item = items[0]["id"]
    assert chief.patch(f"/api/talks/follow-ups/{item}", json={"done_on": "2026-11-30"}).status_code == 422
    r = chief.patch(f"/api/talks/follow-ups/{item}", json={"done_on": "2026-11-18"})
    assert r.status_code == 200 and r.get_json()["status"] == "green"
    assert token_for(office["chief_b"]).patch(f"/api/talks/follow-ups/{item}", json={"done_on": None}).status_code == 404
    # HR sees the item is there, not what it says.
    hr_items = token_for(office["hr"]).get("/api/talks/follow-ups").get_json()
    assert hr_items[0]["description"] is None


def test_kinds_are_data_hr_extends(app, office, hr_api, deputy):
    kinds = hr_api.get("/api/talks/kinds").get_json()
    assert "political_birthday" in {k["code"] for k in kinds}
    r = hr_api.post("/api/talks/kinds", json={"code": "team_discord", "name": "班子谈心"})
    assert r.status_code == 201
    assert hr_api.post("/api/talks/kinds", json={"code": "team_discord", "name": "x"}).status_code == 409
    assert hr_api.post("/api/talks/kinds", json={"code": "Bad Code", "name": "x"}).status_code == 422
    assert deputy.post("/api/talks/kinds", json={"code": "mine", "name": "x"}).status_code == 403
    assert deputy.post("/api/talks", json=talk_body(office, kind="team_discord")).status_code == 201


def test_rules_are_data_hr_edits(app, office, hr_api, deputy):
    rules = hr_api.get("/api/talks/rules").get_json()
    assert {r["code"] for r in rules} == {"head-quarterly", "deputy-monthly", "chief-monthly"}
    trig = hr_api.get("/api/talks/trigger-rules").get_json()
    assert "rotation_start" in {r["event"] for r in trig}
    rule = next(r for r in rules if r["code"] == "deputy-monthly")
    r = hr_api.patch(f"/api/talks/rules/{rule['id']}", json={"frequency": "quarterly"})
    assert r.status_code == 200 and r.get_json()["frequency"] == "quarterly"
    before = db_state(app)
    for body, field in (({"frequency": "every_n_weeks"}, "n_weeks"), ({"frequency": "daily"}, "frequency"),
                        ({"kinds": ["nope"]}, "kinds"), ({"grace_days": -1}, "grace_days"),
                        ({"code": "renamed"}, "code"), ({"valid_from": "2026-02-01", "valid_to": "2026-01-01"}, "valid_to")):
        r = hr_api.patch(f"/api/talks/rules/{rule['id']}", json=body)
        assert r.status_code == 422 and field in r.get_json()["errors"]["json"], (body, r.get_json())
    assert deputy.patch(f"/api/talks/rules/{rule['id']}", json={"grace_days": 1}).status_code == 403
    assert db_state(app) == before
    r = hr_api.post("/api/talks/rules", json={"code": "chief-staff-biweekly", "talker_selector": "chief",
                                              "scope": "own_sections", "roles": ["staff"], "frequency": "every_n_weeks",
                                              "n_weeks": 2, "kinds": ["routine"]})
    assert r.status_code == 201, r.get_json()
    assert hr_api.delete(f"/api/talks/rules/{r.get_json()['id']}").status_code == 204


def test_triggers_hr_records_and_obligation_appears(app, office, hr_api, token_for):
    head = token_for(office["head"])
    before = db_state(app)
    assert hr_api.post("/api/talks/triggers", json={"person_id": 99999, "event": "penalty", "on": "2026-11-12"}).status_code == 422
    assert hr_api.post("/api/talks/triggers", json={"person_id": office["staff_a"], "event": "penalty", "on": "bad"}).status_code == 422
    assert head.post("/api/talks/triggers", json={
        "person_id": office["staff_a"], "event": "penalty", "on": "2026-11-12"}).status_code == 403
    assert db_state(app) == before
    r = hr_api.post("/api/talks/triggers", json={"person_id": office["staff_a"], "event": "penalty", "on": "2026-11-12"})
    assert r.status_code == 201
    obligations = token_for(office["deputy"]).get("/api/talks/obligations?on=2026-11-20").get_json()
    triggered = [o for o in obligations if o["source"] == "trigger"]
    assert [(o["talked_to_id"], o["status"], o["due"]) for o in triggered] == [(office["staff_a"], "overdue", "2026-11-19")]


def test_obligations_turn_green_when_the_talk_is_held(app, office, deputy, token_for):
    mine = deputy.get("/api/talks/obligations?on=2026-11-20").get_json()
    by_person = {o["talked_to_id"]: o for o in mine if o["rule"] == "deputy-monthly" and o["period_start"] == "2026-11-01"}
    assert set(by_person) == {office["staff_a"], office["chief_a"]}
    assert by_person[office["staff_a"]]["status"] == "due" and by_person[office["staff_a"]]["never_talked"]
    deputy.post("/api/talks", json=talk_body(office))
    mine = deputy.get("/api/talks/obligations?on=2026-11-20").get_json()
    o = next(o for o in mine if o["rule"] == "deputy-monthly" and o["talked_to_id"] == office["staff_a"]
             and o["period_start"] == "2026-11-01")
    assert o["status"] == "done" and o["colour"] == "green"
    # Never-talked first (red-letter order): chief_a comes before staff_a now.
    assert mine[0]["talked_to_id"] == office["chief_a"]
    # After the month and its grace: red.
    dec = deputy.get("/api/talks/obligations?on=2026-12-07").get_json()
    nov_chief = next(o for o in dec if o["talked_to_id"] == office["chief_a"] and o["period_start"] == "2026-11-01")
    assert nov_chief["status"] == "overdue" and nov_chief["days_overdue"] == 2


def test_obligations_access_and_bad_query(app, office, token_for):
    assert token_for(office["staff_a"]).get("/api/talks/obligations").status_code == 403
    assert token_for(office["chief_b"]).get(f"/api/talks/obligations?talker_id={office['deputy']}").status_code == 403
    assert token_for(office["hr"]).get(f"/api/talks/obligations?talker_id={office['deputy']}&on=2026-11-20").status_code == 200
    head = token_for(office["head"])
    assert head.get(f"/api/talks/obligations?talker_id={office['chief_a']}&on=2026-11-20").status_code == 200
    for q, field in (("on=2026-13-01", "on"), ("talker_id=abc", "talker_id"), ("talker_id=99999", "talker_id"),
                     ("status=purple", "status")):
        r = head.get(f"/api/talks/obligations?{q}")
        assert r.status_code == 422 and field in r.get_json()["errors"]["query"], (q, r.get_json())


def test_moved_person_obligation_moves_with_the_register(app, office, hr_api, token_for):
    # staff_a moves to section B on 2026-11-16: the deputy's window ends on the 15th, chief_b's starts.
    r = hr_api.patch(f"/api/people/{office['staff_a']}", json={"section_id": office["section_b"], "effective_from": "2026-11-16"})
    assert r.status_code == 200, r.get_json()
    dep = token_for(office["deputy"]).get("/api/talks/obligations?on=2026-11-20").get_json()
    o = next(o for o in dep if o["talked_to_id"] == office["staff_a"] and o["rule"] == "deputy-monthly"
             and o["period_start"] == "2026-11-01")
    assert o["due"] == "2026-11-15"
    chief_b = token_for(office["chief_b"]).get("/api/talks/obligations?on=2026-11-20").get_json()
    o = next(o for o in chief_b if o["talked_to_id"] == office["staff_a"] and o["rule"] == "chief-monthly")
    assert o["window_start"] == "2026-11-16"


def test_settings_and_bad_settings(app, office, hr_api, deputy):
    assert hr_api.get("/api/talks/settings").status_code == 200
    assert hr_api.patch("/api/talks/settings", json={"discipline_reader_ids": [99999]}).status_code == 422
    assert hr_api.patch("/api/talks/settings", json={"max_talks_per_day": 0}).status_code == 422
    assert deputy.patch("/api/talks/settings", json={"max_talks_per_day": 2}).status_code == 403
    assert hr_api.patch("/api/talks/settings", json={"max_talks_per_day": 2}).get_json()["max_talks_per_day"] == 2


def test_list_filters(app, office, deputy):
    deputy.post("/api/talks", json=talk_body(office))
    assert len(deputy.get("/api/talks?start=2026-11-01&end=2026-11-30").get_json()) == 1
    assert deputy.get("/api/talks?kind=integrity").get_json() == []
    assert deputy.get(f"/api/talks?section_id={office['section_b']}").get_json() == []
    r = deputy.get("/api/talks?start=2026-11-30&end=2026-11-01")
    assert r.status_code == 422 and "end" in r.get_json()["errors"]["query"]
    assert "record" not in deputy.get("/api/talks").get_json()[0]


def test_ledger_xlsx_and_csv_filters(app, office, deputy, token_for):
    import io

    from openpyxl import load_workbook

    deputy.post("/api/talks", json=talk_body(office))
    r = deputy.get(f"/api/talks/ledger.xlsx?leader_id={office['deputy']}&kind=routine&start=2026-11-01&end=2026-11-30")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    # Headings, kinds and yes/no in the reader's language (zh-CN by default).
    assert rows[0][:3] == ("序号", "谈话时间", "时长（分钟）") and "谈话内容" in rows[0] and len(rows) == 2
    assert rows[1][3] == "日常谈心"
    en = deputy.get(f"/api/talks/ledger.xlsx?leader_id={office['deputy']}", headers={"Accept-Language": "en"})
    rows = list(load_workbook(io.BytesIO(en.data)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("No.", "Date and time", "Duration (minutes)") and "Content" in rows[0]
    assert deputy.get(f"/api/talks/ledger.csv?section_id={office['section_b']}").get_data(as_text=True).count("\n") == 1
    hr_rows = list(load_workbook(io.BytesIO(token_for(office["hr"]).get("/api/talks/ledger.xlsx").data)).active.iter_rows(values_only=True))
    assert "谈话内容" not in hr_rows[0] and len(hr_rows) == 2
    for q, field in (("start=2026-11-30&end=2026-11-01", "end"), ("leader_id=x", "leader_id"), ("start=bad", "start")):
        r = deputy.get(f"/api/talks/ledger.csv?{q}")
        assert r.status_code == 422 and field in r.get_json()["errors"]["query"]


def test_proposals_and_accepting_one(app, office, deputy, token_for):
    r = deputy.get("/api/talks/proposals")
    assert r.status_code == 200
    body = r.get_json()
    assert body["provisional"] is False
    days = {p["talked_to_id"]: p["day"] for p in body["proposals"]}
    assert set(days) == {office["staff_a"], office["chief_a"]}
    assert all(d is None or date.fromisoformat(d).weekday() < 5 for d in days.values())
    assert token_for(office["staff_a"]).get("/api/talks/proposals").status_code == 403
    before = db_state(app)
    for body, field in (({"talked_to_id": office["staff_a"], "held_at": "2026-11-01T09:00", "place": "x"}, "held_at"),
                        ({"talked_to_id": 99999, "held_at": "2026-11-25T09:00", "place": "x"}, "talked_to_ids"),
                        ({"talked_to_id": office["staff_a"], "held_at": "2026-11-25T09:00"}, "place")):
        r = deputy.post("/api/talks/proposals", json=body)
        assert r.status_code == 422 and field in r.get_json()["errors"]["json"], r.get_json()
    assert db_state(app) == before
    r = deputy.post("/api/talks/proposals", json={"talked_to_id": office["staff_a"], "held_at": "2026-11-25T09:00",
                                                  "place": "办公室"})
    assert r.status_code == 201 and r.get_json()["status"] == "scheduled"
    # A scheduled talk does not settle the obligation; it cannot be signed before it is held.
    obligation = next(o for o in deputy.get("/api/talks/obligations?on=2026-11-20").get_json()
                      if o["talked_to_id"] == office["staff_a"] and o["period_start"] == "2026-11-01")
    assert obligation["status"] == "due"
    assert token_for(office["staff_a"]).post(f"/api/talks/{r.get_json()['id']}/signoff").status_code == 409


def test_red_letter_report_for_hr(app, office, hr_api, deputy, token_for):
    deputy.post("/api/talks", json=talk_body(office))
    r = hr_api.get("/api/talks/red-letter?on=2026-12-07")
    assert r.status_code == 200
    body = r.get_json()
    deputy_row = next(x for x in body["leaders"] if x["leader_id"] == office["deputy"])
    assert deputy_row["overdue"] >= 1  # chief_a never talked to in November
    chief_row = next(x for x in body["leaders"] if x["leader_id"] == office["chief_a"])
    assert chief_row["follow_ups_overdue"] == 1
    assert {s["section_id"] for s in body["sections"]} >= {office["section_a"], office["section_b"]}
    assert token_for(office["head"]).get("/api/talks/red-letter").status_code == 403
    assert hr_api.get("/api/talks/red-letter?on=nope").status_code == 422
