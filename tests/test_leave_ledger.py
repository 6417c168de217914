"""The leave ledger: allocations with their explanation, pro rata joiners, the tier-change unit
setting, disqualification read from sick and personal leave, carry-over and expiry by the daily
job (idempotent), manual adjustments, and balances summed by the database."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from leave_helpers import assert_field_error, db_state, ledger_rows, set_today


@pytest.fixture
def today(monkeypatch):
    set_today(monkeypatch, date(2026, 1, 5))


def balance(api, pid, year=2026, as_of="2026-12-31", account="annual"):
    return api.get(f"/api/people/{pid}/leave/balance?year={year}&as_of={as_of}&account={account}").json


def test_allocation_is_explained_line_by_line(office, hr_api, token_for, today):
    r = hr_api.post("/api/leave/allocate", json={"year": 2026})
    assert r.json["people"] == 7 and r.json["changed"] == 7 and r.json["skipped"] == []
    # A second run books nothing.
    assert hr_api.post("/api/leave/allocate", json={"year": 2026}).json["changed"] == 0
    b = balance(token_for(office["staff_a"]), office["staff_a"])
    assert b["balance"] == 10 and b["booked"] == 10 and b["pending"] == 0 and b["provisional"] is False
    assert [(l["kind"], l["days"], l["running"]) for l in b["lines"]] == [("allocation", 10.0, 10.0)]
    assert "10 days" in b["lines"][0]["text"]
    assert b["entitlement"]["days"] == 10
    assert [s["code"] for s in b["entitlement"]["steps"]] == ["period", "tier", "full_year", "result"]
    assert "16 whole years" in b["entitlement"]["steps"][1]["text"]


def test_joiner_is_pro_rated_and_tier_change_follows_the_unit_setting(app, office, hr_api, today):
    from service.extensions import db
    from service.leave.ledger import allocate
    from service.people.models import Person
    from service.people.register import apply_person

    with app.test_request_context():
        joiner, _ = apply_person({"employee_no": "J1", "name": "新人", "joined_on": date(2026, 7, 1),
                                  "work_started_on": date(2014, 1, 1)}, date(2026, 7, 1))
        crosser, _ = apply_person({"employee_no": "X1", "name": "满十年", "joined_on": date(2020, 1, 1),
                                   "work_started_on": date(2016, 6, 1)}, date(2026, 1, 1))
        db.session.commit()
        ids = joiner.id, crosser.id
    hr_api.post("/api/leave/allocate", json={"year": 2026})
    b = balance(hr_api, ids[0])
    assert b["balance"] == 5  # floor(184 / 365 x 10)
    assert "pro_rata" in [s["code"] for s in b["entitlement"]["steps"]]
    assert balance(hr_api, ids[1])["balance"] == 5  # reaches 10 years on 1 June: 'next_year' by default
    # The unit switches to 'pro_rata': the next allocation run corrects the year by an adjustment.
    assert hr_api.patch("/api/leave/settings", json={"tier_change_rule": "pro_rata"}).status_code == 200
    hr_api.post("/api/leave/allocate", json={"year": 2026})
    b = balance(hr_api, ids[1])
    assert b["balance"] == 7  # floor((151 x 5 + 214 x 10) / 365)
    assert [(l["kind"], l["days"]) for l in b["lines"]] == [("allocation", 5.0), ("adjustment", 2.0)]
    with app.app_context():
        assert allocate(db.session.get(Person, ids[1]), 2026) == 0  # idempotent


def test_long_sick_leave_cancels_the_year_and_its_cancellation_restores_it(app, office, hr_api, today):
    pid = office["staff_a"]
    hr_api.post("/api/leave/allocate", json={"year": 2026})
    # 96 calendar days of sick leave: 3.2 months, the 10-day tier's limit is 3 months.
    r = hr_api.post("/api/leave/requests", json={"person_id": pid, "kind": "sick", "start_date": "2026-03-02",
                                                 "end_date": "2026-06-05", "evidence": "诊断证明", "record": True})
    assert r.status_code == 201, r.json
    b = balance(hr_api, pid)
    assert b["balance"] == 0
    assert b["lines"][-1]["kind"] == "adjustment" and "sick leave" in b["lines"][-1]["reason"]
    assert "disqualified_sick_leave" in [s["code"] for s in b["entitlement"]["steps"]]
    hr_api.post(f"/api/leave/requests/{r.json['id']}/cancel")
    assert balance(hr_api, pid)["balance"] == 10
    kinds = [(k, d) for _, k, d, *_ in ledger_rows(app, pid)]
    assert kinds == [("allocation", Decimal(10)), ("adjustment", Decimal(-10)), ("adjustment", Decimal(10))]


def test_twenty_days_of_personal_leave_cancel_the_year(office, hr_api, today):
    pid = office["staff_b"]
    hr_api.post("/api/leave/allocate", json={"year": 2026})
    # 2-27 March 2026: 20 working days.
    r = hr_api.post("/api/leave/requests", json={"person_id": pid, "kind": "personal", "start_date": "2026-03-02",
                                                 "end_date": "2026-03-27", "record": True})
    assert r.json["days"] == 20
    assert balance(hr_api, pid)["balance"] == 0


def test_carry_over_lapse_and_expiry_by_the_daily_job(app, office, hr_api, monkeypatch):
    from workers.leave import book_leave_ledger

    set_today(monkeypatch, date(2025, 3, 1))
    pid = office["staff_a"]
    assert hr_api.patch("/api/leave/settings", json={
        "carry_over_allowed": True, "carry_over_max_days": 5, "carry_over_expiry_month": 3,
        "carry_over_expiry_day": 31}).status_code == 200
    hr_api.post("/api/leave/allocate", json={"year": 2025})
    hr_api.post("/api/leave/requests", json={"person_id": pid, "kind": "annual", "start_date": "2025-03-03",
                                             "end_date": "2025-03-04", "record": True})
    with app.app_context():
        book_leave_ledger("2026-01-02")
        again = book_leave_ledger("2026-01-03")
    assert again["closing_entries"] == 0 and again["allocated"] == 0
    rows = [(y, k, d) for y, k, d, *_ in ledger_rows(app, pid)]
    assert (2025, "carry_out", Decimal(-5)) in rows and (2026, "carry_in", Decimal(5)) in rows
    assert (2025, "lapse", Decimal(-3)) in rows
    assert balance(hr_api, pid, 2025, "2025-12-31")["balance"] == 8
    assert balance(hr_api, pid, 2025, "2026-01-01")["balance"] == 0
    assert balance(hr_api, pid, 2026, "2026-03-31")["balance"] == 15  # 10 own + 5 carried
    # One carried day used by 31 March; the other four expire on 1 April.
    set_today(monkeypatch, date(2026, 1, 5))
    hr_api.post("/api/leave/requests", json={"person_id": pid, "kind": "annual", "start_date": "2026-03-02",
                                             "end_date": "2026-03-02", "record": True})
    with app.app_context():
        book_leave_ledger("2026-04-01")
        assert book_leave_ledger("2026-04-02")["closing_entries"] == 0
    rows = [(y, k, d) for y, k, d, *_ in ledger_rows(app, pid)]
    assert (2026, "expiry", Decimal(-4)) in rows
    b = balance(hr_api, pid, 2026, "2026-04-01")
    assert b["balance"] == 10
    assert [l["kind"] for l in b["lines"]] == ["allocation", "carry_in", "taken", "expiry"]
    assert [l["running"] for l in b["lines"]] == [10, 15, 14, 10]


def test_manual_adjustment_gives_compensatory_days_that_leave_then_draws(app, office, hr_api, token_for, today):
    pid = office["staff_a"]
    r = hr_api.post(f"/api/people/{pid}/leave/adjustments", json={
        "account": "compensatory", "year": 2026, "days": 1.5, "reason": "春节加班 2 月 15 日"})
    assert r.status_code == 201 and r.json["balance"] == 1.5
    assert r.json["lines"][0]["reason"] == "春节加班 2 月 15 日"
    staff = token_for(pid)
    ok = staff.post("/api/leave/requests", json={"kind": "compensatory", "start_date": "2026-03-02",
                                                 "end_date": "2026-03-02"})
    assert ok.status_code == 201
    assert_field_error(staff.post("/api/leave/requests", json={
        "kind": "compensatory", "start_date": "2026-03-03", "end_date": "2026-03-03"}), 409, "kind")
    assert staff.post("/api/leave/requests", json={
        "kind": "compensatory", "start_date": "2026-03-03", "end_date": "2026-03-03", "ends_noon": True}).status_code == 201
    # Staff cannot adjust their own ledger.
    assert token_for(pid).post(f"/api/people/{pid}/leave/adjustments", json={
        "year": 2026, "days": 5, "reason": "我自己加"}).status_code == 403


def test_balances_list_is_the_database_sum_of_the_ledger(app, office, hr_api, token_for, today):
    hr_api.post("/api/leave/allocate", json={"year": 2026})
    hr_api.post("/api/leave/requests", json={"person_id": office["staff_b"], "kind": "annual",
                                             "start_date": "2026-03-02", "end_date": "2026-03-03", "record": True})
    rows = hr_api.get("/api/leave/balances?year=2026&as_of=2026-12-31").json
    assert len(rows) == 7
    by_id = {r["person_id"]: r["balance"] for r in rows}
    assert by_id[office["staff_b"]] == 8 and by_id[office["staff_a"]] == 10
    for pid, total in by_id.items():
        assert balance(hr_api, pid)["balance"] == total
    # As of before the leave, the taken days do not count yet.
    assert {r["person_id"]: r["balance"] for r in hr_api.get(
        "/api/leave/balances?year=2026&as_of=2026-03-01").json}[office["staff_b"]] == 10
    # A chief sees the people of the section and no one else.
    mine = token_for(office["chief_b"]).get("/api/leave/balances?year=2026").json
    assert {r["person_id"] for r in mine} == {office["chief_b"], office["staff_b"], office["hr"]}
    staff = token_for(office["staff_a"]).get("/api/leave/balances?year=2026").json
    assert [r["person_id"] for r in staff] == [office["staff_a"]]


def test_unused_leave_report_with_the_pay_multiple(office, hr_api, token_for, today):
    hr_api.post("/api/leave/allocate", json={"year": 2026})
    r = hr_api.get("/api/leave/report?year=2026").json
    assert r["pay_multiple_percent"] == 300 and len(r["people"]) == 7
    assert token_for(office["staff_a"]).get("/api/leave/report?year=2026").status_code == 403
    chief = token_for(office["chief_a"]).get("/api/leave/report?year=2026").json
    assert [p["person_id"] for p in chief["people"]] == [office["staff_a"]]
