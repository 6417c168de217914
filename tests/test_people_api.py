"""The register over the API: sections, people, dated history, paging, filters."""
from datetime import date


def test_create_section_and_person_with_location_and_welcome_email(app, hr_api, office):
    r = hr_api.post("/api/sections", json={"code": "C", "name": "督查室", "min_base_staff": 2})
    assert r.status_code == 201
    assert r.headers["Location"].endswith(f"/api/sections/{r.json['id']}")
    section_id = r.json["id"]
    r = hr_api.post("/api/people", json={
        "employee_no": "S900", "name": "王芳", "email": "wf@example.org", "section_id": section_id,
        "joined_on": "2024-03-01", "work_started_on": "2015-07-01",
        "birthday": {"calendar": "lunar", "month": 8, "day": 30},
        "relatives": [{"name": "王建国", "relation": "parent"}]})
    assert r.status_code == 201, r.json
    assert r.headers["Location"].endswith(f"/api/people/{r.json['id']}")
    assert r.json["section_code"] == "C"
    assert r.json["birthday"] == {"calendar": "lunar", "month": 8, "day": 30, "leap": False}
    out = hr_api.get("/api/outbox?status=pending").json + hr_api.get("/api/outbox?status=sent").json
    welcome = [m for m in out if m["kind"] == "welcome" and m["to_address"] == "wf@example.org"]
    assert len(welcome) == 1


def test_move_is_dated_and_history_answers_who_was_where(hr_api, office):
    pid = office["staff_a"]
    r = hr_api.patch(f"/api/people/{pid}", json={"section_id": office["section_b"], "effective_from": "2026-06-01"})
    assert r.status_code == 200
    history = hr_api.get(f"/api/people/{pid}/history").json
    assert [(h["section_id"], h["valid_from"], h["valid_to"]) for h in history] == [
        (office["section_a"], "2020-01-01", "2026-06-01"), (office["section_b"], "2026-06-01", None)]
    in_a_may = hr_api.get(f"/api/people?as_of=2026-05-31&section_id={office['section_a']}").json
    in_a_june = hr_api.get(f"/api/people?as_of=2026-06-01&section_id={office['section_a']}").json
    assert pid in [p["id"] for p in in_a_may]
    assert pid not in [p["id"] for p in in_a_june]


def test_future_change_waits_for_its_date(app, hr_api, office):
    from service.extensions import db
    from service.people.models import Person
    from service.people.register import sync_current_postings

    pid = office["staff_a"]
    hr_api.patch(f"/api/people/{pid}", json={"role": "chief", "effective_from": "2099-01-01"})
    assert hr_api.get(f"/api/people/{pid}").json["role"] == "staff"
    with app.app_context():
        assert sync_current_postings(date(2099, 1, 1)) == 1
        assert db.session.get(Person, pid).role == "chief"


def test_list_pages_and_filters(hr_api, office):
    r = hr_api.get("/api/people?page=1&page_size=3")
    assert r.status_code == 200
    assert len(r.json) == 3
    assert '"total": 7' in r.headers["X-Pagination"]
    assert [p["employee_no"] for p in hr_api.get("/api/people?q=科长").json] == ["CA", "CB"]
    assert [p["employee_no"] for p in hr_api.get("/api/people?role=deputy").json] == ["L2"]
    assert hr_api.get("/api/people?page=100000000&page_size=10").json == []


def test_duplicate_employee_number_is_409_and_nothing_changes(hr_api, office):
    before = hr_api.get("/api/people").headers["X-Pagination"]
    r = hr_api.post("/api/people", json={"employee_no": "SA", "name": "重复"})
    assert r.status_code == 409
    assert "employee_no" in r.json["errors"]["json"]
    assert hr_api.get("/api/people").headers["X-Pagination"] == before


def test_private_fields_follow_the_line(office, token_for):
    staff_b = token_for(office["staff_b"], "read")
    other = staff_b.get(f"/api/people/{office['staff_a']}").json
    assert "email" not in other and "birthday" not in other
    me = staff_b.get(f"/api/people/{office['staff_b']}").json
    assert me["email"] == "sb@example.org"
    deputy = token_for(office["deputy"], "read")
    assert "email" in deputy.get(f"/api/people/{office['staff_a']}").json  # oversees section A
    assert "email" not in deputy.get(f"/api/people/{office['staff_b']}").json


def test_section_delete_refused_when_in_use(hr_api, office):
    r = hr_api.delete(f"/api/sections/{office['section_a']}")
    assert r.status_code == 409
    assert hr_api.get(f"/api/sections/{office['section_a']}").status_code == 200
    new = hr_api.post("/api/sections", json={"code": "Z", "name": "空科室"}).json
    assert hr_api.delete(f"/api/sections/{new['id']}").status_code == 204


def test_writes_are_audited_with_actor_and_address(hr_api, office):
    hr_api.patch(f"/api/people/{office['staff_a']}", json={"post": "一级主任科员"})
    entries = hr_api.get(f"/api/audit?resource=person&resource_id={office['staff_a']}").json
    latest = entries[0]
    assert latest["action"] == "update" and latest["actor_id"] == office["hr"]
    assert latest["via"] == "api" and latest["remote_addr"] == "127.0.0.1"
    assert latest["changes"]["post"][1] == "一级主任科员"


def test_a_dated_change_never_undoes_another(hr_api, office):
    """A future move stays when a post change is recorded before it, and carries the new post."""
    pid = office["staff_a"]
    hr_api.patch(f"/api/people/{pid}", json={"section_id": office["section_b"], "effective_from": "2099-03-01"})
    hr_api.patch(f"/api/people/{pid}", json={"post": "副科长", "effective_from": "2099-01-01"})
    history = [(h["section_id"], h["post"], h["valid_from"], h["valid_to"])
               for h in hr_api.get(f"/api/people/{pid}/history").json]
    assert history == [
        (office["section_a"], None, "2020-01-01", "2099-01-01"),
        (office["section_a"], "副科长", "2099-01-01", "2099-03-01"),
        (office["section_b"], "副科长", "2099-03-01", None),
    ]


def test_an_unchanged_patch_writes_no_history(hr_api, office):
    pid = office["staff_a"]
    hr_api.patch(f"/api/people/{pid}", json={"section_id": office["section_a"], "role": "staff"})
    assert len(hr_api.get(f"/api/people/{pid}/history").json) == 1


def test_changing_relatives_keeps_the_rows_of_those_who_stay(hr_api, office):
    """Care cases point at relative rows: an edit keeps the rows of relatives it does not change."""
    pid = office["staff_a"]
    r = hr_api.patch(f"/api/people/{pid}", json={"relatives": [{"name": "王建国", "relation": "parent"}]})
    assert r.status_code == 200, r.json
    (first,) = r.json["relatives"]
    r = hr_api.patch(f"/api/people/{pid}", json={"relatives": [
        {"name": "王建国", "relation": "parent"}, {"name": "李梅", "relation": "spouse"}]})
    assert r.status_code == 200, r.json
    ids = {(x["name"], x["relation"]): x["id"] for x in r.json["relatives"]}
    assert ids[("王建国", "parent")] == first["id"] and len(ids) == 2
    r = hr_api.patch(f"/api/people/{pid}", json={"relatives": [{"name": "李梅", "relation": "spouse"}]})
    assert [x["id"] for x in r.json["relatives"]] == [ids[("李梅", "spouse")]]
