"""Leave requests over the API: counting on the official calendar (2026 Spring Festival with its
make-up Saturdays), half days, overlap, approval chain, reject, cancel, cross-year split,
provisional years and their recount when the calendar is published."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from leave_helpers import assert_field_error, db_state, ledger_rows, set_today


@pytest.fixture
def today(monkeypatch):
    set_today(monkeypatch, date(2026, 1, 5))
    return date(2026, 1, 5)


def ask(api, kind="annual", start="2026-03-02", end="2026-03-03", **extra):
    return api.post("/api/leave/requests", json={"kind": kind, "start_date": start, "end_date": end, **extra})


def test_leave_across_the_2026_spring_festival_counts_official_working_days(office, token_for, today):
    api = token_for(office["staff_a"])
    # Mon 9 Feb - Sat 28 Feb 2026: the holiday is 15-23 Feb; Sat 14 and Sat 28 are make-up working days.
    r = ask(api, kind="personal", start="2026-02-09", end="2026-02-28")
    assert r.status_code == 201, r.json
    assert r.json["days"] == 11  # 9-13 (5) + Sat 14 + 24-27 (4) + Sat 28; Mon-Fri alone would say 15
    assert r.json["provisional"] is False
    assert r.json["parts"] == [{"year": 2026, "start": "2026-02-09", "end": "2026-02-28", "days": 11.0,
                                "provisional": False}]
    # A calendar-day kind counts every day of the same span.
    r = ask(token_for(office["staff_b"]), kind="home_visit", start="2026-02-09", end="2026-02-28")
    assert r.status_code == 201 and r.json["days"] == 20


def test_half_days_and_their_overlap_rules(office, token_for, today):
    api = token_for(office["staff_a"])
    r = ask(api, start="2026-03-02", end="2026-03-04", starts_afternoon=True, ends_noon=True)
    assert r.status_code == 201 and r.json["days"] == 2
    # The morning of 2 March is free: a half day then fits; the afternoon of 4 March too.
    assert ask(api, kind="personal", start="2026-03-02", end="2026-03-02", ends_noon=True).json["days"] == 0.5
    assert ask(api, kind="personal", start="2026-03-04", end="2026-03-04", starts_afternoon=True).status_code == 201
    # The whole of 3 March is taken.
    body = assert_field_error(ask(api, kind="personal", start="2026-03-03", end="2026-03-03"), 409, "start_date")
    assert "2026-03-02" in body["message"] and "2026-03-04" in body["message"]
    # Half days are for working-day kinds only.
    assert_field_error(ask(api, kind="home_visit", start="2026-05-04", end="2026-05-06", ends_noon=True),
                       422, "ends_noon")


def test_overlap_is_409_naming_the_clash_and_changes_nothing(app, office, token_for, today):
    api = token_for(office["staff_a"])
    first = ask(api, start="2026-03-02", end="2026-03-06").json
    before = db_state(app)
    r = ask(api, kind="personal", start="2026-03-05", end="2026-03-10")
    body = assert_field_error(r, 409, "start_date")
    assert f"{first['id']}" in body["message"] and "2026-03-02" in body["message"]
    assert db_state(app) == before
    # Someone else may be away on the same days.
    assert ask(token_for(office["staff_b"]), start="2026-03-05", end="2026-03-06").status_code == 201


def test_chain_chief_then_deputy_books_the_days_on_the_last_approval(app, office, token_for, today):
    staff = token_for(office["staff_a"])
    req = ask(staff, start="2026-03-02", end="2026-03-06").json
    assert req["status"] == "pending" and req["days"] == 5
    assert req["approver_ids"] == [office["chief_a"], office["deputy"]]
    assert req["current_approver_id"] == office["chief_a"]
    # The deputy is not next; the requester never decides.
    for who in ("deputy", "staff_a", "chief_b"):
        r = token_for(office[who]).post(f"/api/leave/requests/{req['id']}/approve", json={})
        assert r.status_code == 403, who
    r = token_for(office["chief_a"]).post(f"/api/leave/requests/{req['id']}/approve", json={"note": "好"})
    assert r.json["status"] == "pending" and r.json["current_approver_id"] == office["deputy"]
    assert [k for _, k, *_ in ledger_rows(app, office["staff_a"])] == ["allocation"]
    r = token_for(office["deputy"]).post(f"/api/leave/requests/{req['id']}/approve", json={})
    assert r.json["status"] == "approved"
    rows = ledger_rows(app, office["staff_a"])
    assert rows[-1][:4] == (2026, "taken", Decimal("-5"), date(2026, 3, 2))
    bal = staff.get(f"/api/people/{office['staff_a']}/leave/balance?year=2026&as_of=2026-12-31").json
    assert bal["balance"] == 5  # 10-day tier (16 years of work) minus 5
    # Emails went through the outbox: one per approver step and one decision to the person.
    from sqlalchemy import select

    from service.extensions import db
    from service.outbox.models import OutboxMessage

    with app.app_context():
        keys = sorted(db.session.scalars(select(OutboxMessage.dedupe_key).where(
            OutboxMessage.kind.in_(("leave_request", "leave_decision")))))
    assert keys == sorted([f"leave-request:{req['id']}:0:{office['chief_a']}",
                           f"leave-request:{req['id']}:1:{office['deputy']}",
                           f"leave-decision:{req['id']}:approved"])


def test_chain_is_unit_data_and_skips_the_requester(office, token_for, hr_api, today):
    # A chief's own leave skips the chief level: the deputy in charge approves.
    r = ask(token_for(office["chief_a"]), start="2026-03-02", end="2026-03-02").json
    assert r["approver_ids"] == [office["deputy"]]
    # Section B has no deputy in charge: its chief approves staff_b, and the chief's own leave goes to the head.
    assert ask(token_for(office["staff_b"])).json["approver_ids"] == [office["chief_b"]]
    assert ask(token_for(office["chief_b"])).json["approver_ids"] == [office["head"]]
    assert hr_api.patch("/api/leave/settings", json={"approver_chain": ["head"]}).status_code == 200
    assert ask(token_for(office["staff_a"]), start="2026-04-01", end="2026-04-01").json["approver_ids"] == [office["head"]]


def test_reject_needs_a_reason_and_books_nothing(app, office, token_for, today):
    req = ask(token_for(office["staff_a"])).json
    chief = token_for(office["chief_a"])
    before = db_state(app)
    assert_field_error(chief.post(f"/api/leave/requests/{req['id']}/reject", json={}), 422, "reason")
    assert_field_error(chief.post(f"/api/leave/requests/{req['id']}/reject", json={"reason": ""}), 422, "reason")
    assert db_state(app) == before
    r = chief.post(f"/api/leave/requests/{req['id']}/reject", json={"reason": "工作安排冲突"})
    assert r.json["status"] == "rejected" and r.json["decision_note"] == "工作安排冲突"
    assert [k for _, k, *_ in ledger_rows(app, office["staff_a"])] == ["allocation"]
    # Decided once: a second decision is a conflict.
    assert_field_error(chief.post(f"/api/leave/requests/{req['id']}/approve", json={}), 409, "status")


def test_cancel_returns_the_days(app, office, token_for, hr_api, today):
    staff = token_for(office["staff_a"])
    req = hr_api.post("/api/leave/requests", json={
        "person_id": office["staff_a"], "kind": "annual", "start_date": "2026-03-02", "end_date": "2026-03-04",
        "record": True}).json
    assert req["status"] == "approved" and req["approver_ids"] == []
    url = f"/api/people/{office['staff_a']}/leave/balance?year=2026&as_of=2026-12-31"
    assert staff.get(url).json["balance"] == 7
    r = staff.post(f"/api/leave/requests/{req['id']}/cancel")
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    assert staff.get(url).json["balance"] == 10
    kinds = [(k, d) for _, k, d, *_ in ledger_rows(app, office["staff_a"])]
    assert kinds == [("allocation", Decimal("10")), ("taken", Decimal("-3")), ("cancelled", Decimal("3"))]
    # Cancelled once; again is a conflict, and the days are not returned twice.
    assert_field_error(staff.post(f"/api/leave/requests/{req['id']}/cancel"), 409, "status")
    assert staff.get(url).json["balance"] == 10
    # The dates are free again.
    assert ask(staff, start="2026-03-03", end="2026-03-03").status_code == 201


def test_staff_cannot_cancel_leave_that_has_begun_but_hr_can(app, office, token_for, hr_api, monkeypatch):
    set_today(monkeypatch, date(2026, 3, 3))
    req = hr_api.post("/api/leave/requests", json={
        "person_id": office["staff_a"], "kind": "annual", "start_date": "2026-03-02", "end_date": "2026-03-04",
        "record": True}).json
    assert_field_error(token_for(office["staff_a"]).post(f"/api/leave/requests/{req['id']}/cancel"), 409, "status")
    assert hr_api.post(f"/api/leave/requests/{req['id']}/cancel").json["status"] == "cancelled"


def test_a_leave_across_new_year_splits_between_the_years(app, office, token_for, hr_api, today):
    # Mon 28 Dec 2026 - Fri 8 Jan 2027: 2026 has 28-31 Dec (4 working days in 2026's calendar).
    hr_api.post("/api/leave/allocate", json={"year": 2027})
    r = hr_api.post("/api/leave/requests", json={
        "person_id": office["staff_a"], "kind": "annual", "start_date": "2026-12-28", "end_date": "2027-01-08",
        "record": True})
    assert r.status_code == 201, r.json
    parts = {p["year"]: p for p in r.json["parts"]}
    assert parts[2026]["days"] == 4 and parts[2026]["provisional"] is False
    # 2027 is not in chinese_calendar 1.11: weekends only, flagged provisional (1 Jan counted as a working day).
    assert parts[2027]["provisional"] is True and parts[2027]["days"] == 6
    assert r.json["provisional"] is True and r.json["days"] == 10
    rows = [(y, k, d) for y, k, d, *_ in ledger_rows(app, office["staff_a"]) if k == "taken"]
    assert rows == [(2026, "taken", Decimal("-4")), (2027, "taken", Decimal("-6"))]
    api = token_for(office["staff_a"])
    assert api.get(f"/api/people/{office['staff_a']}/leave/balance?year=2026&as_of=2026-12-31").json["balance"] == 6
    b27 = api.get(f"/api/people/{office['staff_a']}/leave/balance?year=2027&as_of=2027-12-31").json
    assert b27["balance"] == 4 and b27["provisional"] is True


def test_annual_leave_beyond_the_balance_is_refused(app, office, token_for, today):
    api = token_for(office["staff_a"])
    assert ask(api, start="2026-03-02", end="2026-03-13").status_code == 201  # 10 days, pending
    before = db_state(app)
    body = assert_field_error(ask(api, start="2026-04-01", end="2026-04-01"), 409, "kind")
    assert "0" in body["message"]
    assert db_state(app) == before


def test_kind_rules_maximum_and_evidence(office, token_for, today):
    api = token_for(office["staff_a"])
    assert_field_error(ask(api, kind="marriage", start="2026-03-02", end="2026-03-05",
                           evidence="结婚证"), 422, "end_date")  # 4 working days, at most 3
    assert_field_error(ask(api, kind="marriage", start="2026-03-02", end="2026-03-04"), 422, "evidence")
    assert ask(api, kind="marriage", start="2026-03-02", end="2026-03-04", evidence="结婚证").status_code == 201
    assert_field_error(ask(api, kind="nope"), 422, "kind")
    # A weekend only has no working day to take.
    assert_field_error(ask(api, kind="personal", start="2026-03-07", end="2026-03-08"), 422, "start_date")


def test_provisional_year_is_flagged_and_recounted_when_the_calendar_arrives(app, office, hr_api, monkeypatch, today):
    import chinese_calendar

    from service.workdays import official

    hr_api.post("/api/leave/allocate", json={"year": 2027})
    r = hr_api.post("/api/leave/requests", json={
        "person_id": office["staff_a"], "kind": "annual", "start_date": "2027-02-08", "end_date": "2027-02-12",
        "record": True})
    assert r.json["days"] == 5 and r.json["provisional"] is True
    day = hr_api.get("/api/calendar/days/2027-02-10").json
    assert day == {"date": "2027-02-10", "working": True, "provisional": True, "reason": "workday"}

    # The notice arrives: 2027-02-10 and -11 become holidays (a stand-in for the real table).
    real_is_workday = chinese_calendar.is_workday

    def published(d):
        if d.year == 2027:
            return d.weekday() < 5 and d not in (date(2027, 2, 10), date(2027, 2, 11))
        return real_is_workday(d)

    monkeypatch.setattr(chinese_calendar, "is_workday", published)
    for cached in (official.is_provisional_year, official._official_year, official._build_table):
        cached.cache_clear()
    try:
        from workers.leave import book_leave_ledger

        with app.app_context():
            counts = book_leave_ledger("2026-11-20")
        assert counts["recounted"] == 1
        got = hr_api.get(f"/api/leave/requests/{r.json['id']}").json
        assert got["days"] == 3 and got["provisional"] is False
        rows = [(k, d) for y, k, d, *_ in ledger_rows(app, office["staff_a"]) if y == 2027]
        assert rows == [("allocation", Decimal("10")), ("taken", Decimal("-5")), ("adjustment", Decimal("2"))]
        with app.app_context():
            assert book_leave_ledger("2026-11-21")["recounted"] == 0  # once
    finally:
        monkeypatch.undo()
        for cached in (official.is_provisional_year, official._official_year, official._build_table):
            cached.cache_clear()


def test_is_on_leave_for_other_features(app, office, hr_api, today):
    hr_api.post("/api/leave/requests", json={
        "person_id": office["staff_a"], "kind": "sick", "start_date": "2026-03-02", "end_date": "2026-03-03",
        "evidence": "病假条", "record": True})
    from service.leave.presence import is_on_leave, people_on_leave

    with app.app_context():
        assert is_on_leave(office["staff_a"], date(2026, 3, 2))
        assert is_on_leave(office["staff_a"], date(2026, 3, 3))
        assert not is_on_leave(office["staff_a"], date(2026, 3, 4))
        assert not is_on_leave(office["staff_b"], date(2026, 3, 2))
        assert people_on_leave(date(2026, 3, 2)) == {office["staff_a"]}
    assert hr_api.get("/api/leave/on-leave?day=2026-03-02").json["person_ids"] == [office["staff_a"]]


def test_pending_leave_is_not_on_leave(app, office, token_for, today):
    ask(token_for(office["staff_a"]))
    from service.leave.presence import is_on_leave

    with app.app_context():
        assert not is_on_leave(office["staff_a"], date(2026, 3, 2))
