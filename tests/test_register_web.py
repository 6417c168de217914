"""HR's register pages: the person form, the section form, CSV import, re-sending the welcome link.

Every rejected form changes nothing (422, the message next to its field); CSRF is required; only
HR may write (staff and leaders get 403 and nothing changes).
"""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from conftest import csrf_of


def _count(app, model, *where):
    from service.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _people(app):
    from service.people.models import Person

    return _count(app, Person)


def _audit_count(app):
    from service.audit.models import AuditEntry

    return _count(app, AuditEntry)


def _outbox(app):
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    with app.app_context():
        return {m.dedupe_key: m for m in db.session.scalars(select(OutboxMessage))}


def _person(app, **by):
    from service.extensions import db
    from service.people.models import Person

    with app.app_context():
        p = db.session.scalar(select(Person).filter_by(**by))
        if p is not None:
            db.session.expunge(p)
        return p


def _english(client):
    page = client.get("/login")
    client.post("/language/en", data={"csrf_token": csrf_of(page), "next": "/"})


VALID = {
    "employee_no": "N100", "name": "王芳", "name_en": "Wang Fang", "email": "wf@example.org",
    "section_id": "", "post": "科员", "rank": "一级科员", "role": "staff",
    "work_started_on": "2015-07-01", "joined_on": "2024-03-01", "left_on": "",
    "birthday_calendar": "lunar", "birthday_month": "4", "birthday_day": "12", "birthday_leap": "y",
    "language": "zh_CN", "relatives-0-name": "王建国", "relatives-0-relation": "parent",
    "relatives-1-name": "", "relatives-1-relation": "",
}


def _post_new(client, data):
    page = client.get("/people/new")
    assert page.status_code == 200
    return client.post("/people/new", data={**data, "csrf_token": csrf_of(page)})


# --- person form ---------------------------------------------------------------------------------

def test_hr_adds_a_person_through_the_form(app, client, office, login):
    login("HR1")
    before_audit = _audit_count(app)
    r = _post_new(client, {**VALID, "section_id": str(office["section_a"])})
    assert r.status_code == 302, r.get_data(as_text=True)
    p = _person(app, employee_no="N100")
    assert r.headers["Location"] == f"/people/{p.id}"
    assert (p.name, p.name_en, p.email, p.section_id, p.post, p.rank, p.role) == (
        "王芳", "Wang Fang", "wf@example.org", office["section_a"], "科员", "一级科员", "staff")
    assert (p.birthday_calendar, p.birthday_month, p.birthday_day, p.birthday_leap) == ("lunar", 4, 12, True)
    assert p.joined_on == date(2024, 3, 1) and p.work_started_on == date(2015, 7, 1)
    # The welcome email, as the API sends it, and an audit entry of the creation.
    assert f"welcome:{p.id}" in _outbox(app)
    assert _audit_count(app) == before_audit + 1
    detail = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "王芳" in detail and "王建国" in detail


def test_hr_adds_a_deputy_with_overseen_sections(app, client, office, login):
    login("HR1")
    data = {**VALID, "role": "deputy", "oversees": [str(office["section_a"]), str(office["section_b"])]}
    r = _post_new(client, data)
    assert r.status_code == 302
    from service.extensions import db
    from service.people.models import Person

    with app.app_context():
        p = db.session.scalar(select(Person).where(Person.employee_no == "N100"))
        assert sorted(o.section_id for o in p.oversights) == sorted([office["section_a"], office["section_b"]])
        assert [(r.name, r.relation) for r in p.relatives] == [("王建国", "parent")]


BAD_INPUT = [
    ("employee_no", {"employee_no": ""}),
    ("employee_no", {"employee_no": "N 100"}),
    ("employee_no", {"employee_no": "HR1"}),  # taken
    ("name", {"name": ""}),
    ("name", {"name": "王" * 81}),
    ("name", {"name": "王\x07芳"}),
    ("email", {"email": "not an address"}),
    ("email", {"email": "sa@example.org"}),  # someone else's
    ("section_id", {"section_id": "999999"}),
    ("section_id", {"section_id": "abc"}),
    ("role", {"role": "boss"}),
    ("oversees", {"oversees": ["1"]}),  # a staff member oversees nothing
    ("oversees", {"role": "deputy", "oversees": ["999999"]}),
    ("work_started_on", {"work_started_on": "2020-13-01"}),
    ("joined_on", {"joined_on": "1800-01-01"}),
    ("joined_on", {"work_started_on": "2025-01-01", "joined_on": "2024-03-01"}),
    ("left_on", {"left_on": "2023-01-01"}),
    ("birthday_day", {"birthday_calendar": "solar", "birthday_month": "2", "birthday_day": "30", "birthday_leap": ""}),
    ("birthday_leap", {"birthday_calendar": "solar", "birthday_month": "2", "birthday_day": "3"}),
    ("birthday_day", {"birthday_calendar": "lunar", "birthday_month": "2", "birthday_day": "31"}),
    ("birthday_month", {"birthday_month": "13"}),
    ("birthday_calendar", {"birthday_calendar": ""}),  # a month and day without a calendar
    ("birthday_calendar", {"birthday_calendar": "julian"}),
    ("birthday_day", {"birthday_day": ""}),
    ("language", {"language": "fr"}),
    ("relatives-0-name", {"relatives-0-name": ""}),
    ("relatives-0-relation", {"relatives-0-relation": "cousin"}),
]


@pytest.mark.parametrize("field,change", BAD_INPUT, ids=[f"{f}-{i}" for i, (f, _c) in enumerate(BAD_INPUT)])
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_added(app, client, office, login, field, change):
    login("HR1")
    people, audit_rows, mails = _people(app), _audit_count(app), len(_outbox(app))
    r = _post_new(client, {**VALID, **change})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert 'id="form-errors"' in html
    assert (_people(app), _audit_count(app), len(_outbox(app))) == (people, audit_rows, mails)


def test_errors_are_in_the_page_language(app, client, office, login):
    login("HR1")
    _english(client)
    r = _post_new(client, {**VALID, "work_started_on": "2025-01-01", "joined_on": "2024-03-01", "name": ""})
    html = r.get_data(as_text=True)
    assert "Cannot join the unit before starting work." not in html  # the schema skips cross-field rules ...
    assert "This field is required." in html  # ... while a field is wrong
    r = _post_new(client, {**VALID, "work_started_on": "2025-01-01", "joined_on": "2024-03-01"})
    assert "Cannot join the unit before starting work." in r.get_data(as_text=True)


def test_the_form_keeps_what_was_typed_after_an_error(app, client, office, login):
    login("HR1")
    r = _post_new(client, {**VALID, "email": "broken"})
    html = r.get_data(as_text=True)
    assert 'value="Wang Fang"' in html and 'value="broken"' in html and 'value="王建国"' in html


def _post_edit(client, person_id, data):
    page = client.get(f"/people/{person_id}/edit")
    assert page.status_code == 200
    return client.post(f"/people/{person_id}/edit", data={**data, "csrf_token": csrf_of(page)})


def _form_values(app, person_id) -> dict:
    """The edit form's values for a stored person (what the page shows), as a browser posts them."""
    p = _person(app, id=person_id)
    return {"employee_no": p.employee_no, "name": p.name, "name_en": p.name_en or "", "email": p.email or "",
            "section_id": str(p.section_id or ""), "post": p.post or "", "rank": p.rank or "", "role": p.role,
            "work_started_on": str(p.work_started_on or ""), "joined_on": str(p.joined_on or ""), "left_on": "",
            "birthday_calendar": p.birthday_calendar or "", "birthday_month": str(p.birthday_month or ""),
            "birthday_day": str(p.birthday_day or ""), "language": p.language}


def test_edit_page_shows_the_stored_values(app, client, office, login):
    login("HR1")
    html = client.get(f"/people/{office['deputy']}/edit").get_data(as_text=True)
    assert 'value="L2"' in html and 'value="2020-01-01"' in html
    assert f'name="oversees" value="{office["section_a"]}" checked' in html


def test_hr_moves_a_person_from_a_date(app, client, office, login):
    login("HR1")
    pid = office["staff_a"]
    r = _post_edit(client, pid, {**_form_values(app, pid), "section_id": str(office["section_b"]),
                                 "effective_from": "2026-06-01"})
    assert r.status_code == 302 and r.headers["Location"] == f"/people/{pid}"
    from service.extensions import db
    from service.people.models import Posting

    with app.app_context():
        rows = db.session.scalars(select(Posting).where(Posting.person_id == pid).order_by(Posting.valid_from)).all()
        assert [(h.section_id, h.valid_from, h.valid_to) for h in rows] == [
            (office["section_a"], date(2020, 1, 1), date(2026, 6, 1)), (office["section_b"], date(2026, 6, 1), None)]


def test_hr_edits_relatives_and_removes_one_by_emptying_its_row(app, client, office, login):
    login("HR1")
    pid = office["staff_a"]
    base = _form_values(app, pid)
    _post_edit(client, pid, {**base, "relatives-0-name": "父亲", "relatives-0-relation": "parent",
                             "relatives-1-name": "配偶", "relatives-1-relation": "spouse"})
    html = client.get(f"/people/{pid}").get_data(as_text=True)
    assert "父亲" in html and "配偶" in html
    r = _post_edit(client, pid, {**base, "relatives-0-name": "", "relatives-0-relation": "",
                                 "relatives-1-name": "配偶", "relatives-1-relation": "spouse"})
    assert r.status_code == 302
    html = client.get(f"/people/{pid}").get_data(as_text=True)
    assert "父亲" not in html and "配偶" in html


def test_editing_the_post_keeps_the_relatives_rows(app, client, office, login):
    """Care cases of a relative's hospital stay point at the relative's row: a save that does not
    touch the relatives must not replace them."""
    from service.extensions import db
    from service.people.models import Relative

    login("HR1")
    pid = office["staff_a"]
    base = _form_values(app, pid)
    _post_edit(client, pid, {**base, "relatives-0-name": "父亲", "relatives-0-relation": "parent"})
    ids = lambda: _ids(app, Relative, Relative.person_id == pid)  # noqa: E731
    before = ids()
    assert len(before) == 1
    r = _post_edit(client, pid, {**base, "post": "副科长", "relatives-0-name": "父亲", "relatives-0-relation": "parent",
                                 "relatives-1-name": "", "relatives-1-relation": ""})
    assert r.status_code == 302
    assert ids() == before
    assert _person(app, id=pid).post == "副科长"


def _ids(app, model, *where):
    from service.extensions import db

    with app.app_context():
        return sorted(db.session.scalars(select(model.id).where(*where)))


@pytest.mark.parametrize("field,change", [
    ("effective_from", {"effective_from": "someday"}),
    ("employee_no", {"employee_no": "HR1"}),
    ("email", {"email": "hr1@example.org"}),
    ("left_on", {"left_on": "2019-01-01"}),
    ("oversees", {"role": "staff"}),  # a deputy's charges stay only for a deputy
])
def test_a_rejected_edit_changes_nothing(app, client, office, login, field, change):
    login("HR1")
    pid = office["deputy"]
    before = _form_values(app, pid)
    audit_rows = _audit_count(app)
    r = _post_edit(client, pid, {**before, "oversees": [str(office["section_a"])],
                                 "section_id": str(office["section_b"]), **change})
    assert r.status_code == 422
    assert f'id="{field}-error"' in r.get_data(as_text=True)
    assert _form_values(app, pid) == before
    assert _audit_count(app) == audit_rows


def test_saving_an_unchanged_form_records_nothing(app, client, office, login):
    login("HR1")
    pid = office["deputy"]
    audit_rows = _audit_count(app)
    r = _post_edit(client, pid, {**_form_values(app, pid), "oversees": [str(office["section_a"])]})
    assert r.status_code == 302
    assert _audit_count(app) == audit_rows


def test_person_form_needs_the_csrf_token(app, client, office, login):
    login("HR1")
    people = _people(app)
    assert client.post("/people/new", data=VALID).status_code == 400
    assert _people(app) == people
    pid = office["staff_a"]
    before = _form_values(app, pid)
    assert client.post(f"/people/{pid}/edit", data={**before, "name": "改名"}).status_code == 400
    assert _form_values(app, pid) == before


@pytest.mark.parametrize("who", ["SA", "CA", "L1"])
def test_only_hr_writes_the_register(app, client, office, login, who):
    login(who)
    page = client.get("/people")
    token = csrf_of(page)
    assert 'id="add-person"' not in page.get_data(as_text=True)
    assert 'id="edit-person"' not in client.get(f"/people/{office['staff_a']}").get_data(as_text=True)
    assert 'id="add-section"' not in client.get("/sections").get_data(as_text=True)
    for path in ("/people/new", f"/people/{office['staff_a']}/edit", "/people/import", "/sections/new",
                 f"/sections/{office['section_a']}/edit"):
        assert client.get(path).status_code == 403, path
    people, audit_rows, mails = _people(app), _audit_count(app), len(_outbox(app))
    before = _form_values(app, office["staff_a"])
    assert client.post("/people/new", data={**VALID, "csrf_token": token}).status_code == 403
    assert client.post(f"/people/{office['staff_a']}/edit",
                       data={**before, "name": "改名", "csrf_token": token}).status_code == 403
    assert client.post(f"/people/{office['staff_a']}/send-link", data={"csrf_token": token}).status_code == 403
    assert client.post("/people/import", data={"csrf_token": token, "file": (
        io.BytesIO(b"employee_no,name\nZ1,x\n"), "p.csv")}, content_type="multipart/form-data").status_code == 403
    assert client.post("/sections/new", data={"code": "Z", "name": "z", "csrf_token": token}).status_code == 403
    assert client.post(f"/sections/{office['section_a']}/edit",
                       data={"code": "Z", "name": "z", "csrf_token": token}).status_code == 403
    from service.people.models import Section

    sections = _count(app, Section)
    empty = _new_section(app, "E")
    assert client.post(f"/sections/{empty}/delete", data={"csrf_token": token}).status_code == 403
    assert _count(app, Section) == sections + 1
    assert (_people(app), _audit_count(app), len(_outbox(app))) == (people, audit_rows, mails)
    assert _form_values(app, office["staff_a"]) == before


def test_hr_sees_the_links(app, client, office, login):
    login("HR1")
    assert 'id="add-person"' in client.get("/people").get_data(as_text=True)
    detail = client.get(f"/people/{office['staff_a']}").get_data(as_text=True)
    assert 'id="edit-person"' in detail and 'id="send-link"' in detail
    sections = client.get("/sections").get_data(as_text=True)
    assert 'id="add-section"' in sections and f"/sections/{office['section_a']}/edit" in sections


# --- sections --------------------------------------------------------------------------------------

def _new_section(app, code):
    from service.extensions import db
    from service.people.models import Section

    with app.app_context():
        s = Section(code=code, name=f"{code}科")
        db.session.add(s)
        db.session.commit()
        return s.id


def test_hr_adds_and_edits_a_section(app, client, office, login):
    from service.people.models import Section

    login("HR1")
    page = client.get("/sections/new")
    r = client.post("/sections/new", data={"code": "C", "name": "督查室", "name_en": "Inspection",
                                           "parent_unit": "", "min_base_staff": "2", "csrf_token": csrf_of(page)})
    assert r.status_code == 302 and r.headers["Location"] == "/sections"
    assert "督查室" in client.get("/sections").get_data(as_text=True)
    sid = _count(app, Section, Section.code == "C") and _section_id(app, "C")
    page = client.get(f"/sections/{sid}/edit")
    assert 'value="督查室"' in page.get_data(as_text=True)
    r = client.post(f"/sections/{sid}/edit", data={"code": "C2", "name": "督查室", "min_base_staff": "3",
                                                   "csrf_token": csrf_of(page)})
    assert r.status_code == 302
    assert _section_id(app, "C2") == sid


def _section_id(app, code):
    from service.extensions import db
    from service.people.models import Section

    with app.app_context():
        return db.session.scalar(select(Section.id).where(Section.code == code))


@pytest.mark.parametrize("field,data", [
    ("code", {"code": ""}),
    ("code", {"code": "A"}),  # taken
    ("code", {"code": "X" * 33}),
    ("name", {"name": ""}),
    ("min_base_staff", {"min_base_staff": "-1"}),
    ("min_base_staff", {"min_base_staff": "many"}),
])
def test_bad_section_input_changes_nothing(app, client, office, login, field, data):
    from service.people.models import Section

    login("HR1")
    sections, audit_rows = _count(app, Section), _audit_count(app)
    page = client.get("/sections/new")
    r = client.post("/sections/new", data={"code": "C", "name": "督查室", "min_base_staff": "0",
                                           **data, "csrf_token": csrf_of(page)})
    assert r.status_code == 422
    assert f'id="{field}-error"' in r.get_data(as_text=True)
    assert (_count(app, Section), _audit_count(app)) == (sections, audit_rows)
    # Editing section B with the same bad value leaves it as it was.
    page = client.get(f"/sections/{office['section_b']}/edit")
    r = client.post(f"/sections/{office['section_b']}/edit", data={
        "code": "B", "name": "信息科", "min_base_staff": "1", **data, "csrf_token": csrf_of(page)})
    assert r.status_code == 422
    assert _section_id(app, "B") == office["section_b"]
    assert _audit_count(app) == audit_rows


def test_a_section_is_deleted_only_when_never_used(app, client, office, login):
    from service.people.models import Section

    login("HR1")
    page = client.get(f"/sections/{office['section_a']}/edit")
    assert 'id="section-in-use"' in page.get_data(as_text=True)
    r = client.post(f"/sections/{office['section_a']}/delete", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 409
    assert _section_id(app, "A") == office["section_a"]
    empty = _new_section(app, "E")
    page = client.get(f"/sections/{empty}/edit")
    assert 'id="delete-section"' in page.get_data(as_text=True)
    assert client.post(f"/sections/{empty}/delete", data={}).status_code == 400  # CSRF
    assert _section_id(app, "E") == empty
    r = client.post(f"/sections/{empty}/delete", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 302
    assert _count(app, Section, Section.code == "E") == 0


def test_section_form_needs_the_csrf_token(app, client, office, login):
    from service.people.models import Section

    login("HR1")
    sections = _count(app, Section)
    assert client.post("/sections/new", data={"code": "C", "name": "督查室"}).status_code == 400
    assert _count(app, Section) == sections


# --- CSV import ------------------------------------------------------------------------------------

def _upload(client, content: bytes, name="people.csv"):
    page = client.get("/people/import")
    assert page.status_code == 200
    return client.post("/people/import", data={"csrf_token": csrf_of(page), "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def test_import_creates_and_updates_and_shows_the_counts(app, client, office, login):
    login("HR1")
    _english(client)
    csv = ("employee_no,name,section_code,birthday\n"
           "N1,新人一,A,lunar:L04-12\n"
           "N2,新人二,B,\n"
           "SA,科员甲改,A,solar:03-01\n").encode()
    r = _upload(client, csv)
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Imported: 2 new, 1 changed, 0 unchanged." in page
    assert _person(app, employee_no="N1").birthday_leap is True
    assert _person(app, employee_no="SA").name == "科员甲改"


def test_import_with_errors_lists_them_and_imports_nothing(app, client, office, login):
    login("HR1")
    _english(client)
    people, audit_rows = _people(app), _audit_count(app)
    csv = ("employee_no,name,section_code,email\n"
           "N1,新人一,A,n1@example.org\n"
           "N 2,新人二,ZZ,\n"
           "N3,新人三,B,n1@example.org\n").encode()
    r = _upload(client, csv)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="import-errors"' in html
    assert "<td>3</td><td>employee_no</td>" in html and "<td>3</td><td>section_code</td>" in html
    assert "No section with code ZZ." in html
    assert "<td>4</td><td>email</td>" in html and "also on row 2" in html
    assert (_people(app), _audit_count(app)) == (people, audit_rows)
    assert _person(app, employee_no="N1") is None


@pytest.mark.parametrize("content,problem", [
    (b"", "import-problem"),
    ("employee_no,name\nN1,王\n".encode("gb18030"), "import-problem"),
    (b"name,colour\nx,red\n", "import-errors"),
])
def test_unreadable_files_import_nothing(app, client, office, login, content, problem):
    login("HR1")
    people = _people(app)
    r = _upload(client, content)
    assert r.status_code == 422
    assert f'id="{problem}"' in r.get_data(as_text=True)
    assert _people(app) == people


def test_import_without_a_file_or_csrf_imports_nothing(app, client, office, login):
    login("HR1")
    page = client.get("/people/import")
    assert client.post("/people/import", data={"csrf_token": csrf_of(page)}).status_code == 422
    r = client.post("/people/import", data={"file": (io.BytesIO(b"employee_no,name\nN1,x\n"), "p.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 400
    assert _person(app, employee_no="N1") is None


def test_import_page_links_to_the_export(app, client, office, login):
    login("HR1")
    html = client.get("/people/import").get_data(as_text=True)
    assert 'href="/api/people/export.csv"' in html
    export = client.get("/api/people/export.csv")
    assert export.status_code == 200 and "employee_no,name" in export.get_data(as_text=True)


# --- re-sending the welcome / set-password link -------------------------------------------------

def _link_in(message) -> str:
    import re

    return re.search(r"http://talkcare.test(/set-password/\S+)", message.body_text).group(1)


def _send_link(client, person_id):
    page = client.get(f"/people/{person_id}")
    return client.post(f"/people/{person_id}/send-link", data={"csrf_token": csrf_of(page)})


def test_hr_sends_a_new_link_and_the_old_one_stops_working(app, client, office, login):
    from service.auth.accounts import password_link_token
    from service.extensions import db
    from service.people.models import Person

    pid = office["staff_a"]
    with app.test_request_context():
        old = password_link_token(db.session.get(Person, pid))
    assert client.get(f"/set-password/{old}").status_code == 200
    login("HR1")
    _english(client)
    r = _send_link(client, pid)
    assert r.status_code == 302 and r.headers["Location"] == f"/people/{pid}"
    assert "A new link to set a password was sent to sa@example.org" in client.get(f"/people/{pid}").get_data(as_text=True)
    mails = _outbox(app)
    assert f"welcome:{pid}:v1" in mails
    new = _link_in(mails[f"welcome:{pid}:v1"])
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/"))})
    assert client.get(f"/set-password/{old}").status_code == 410
    assert client.get(new).status_code == 200


def test_a_second_link_within_ten_minutes_is_refused(app, client, office, login):
    pid = office["staff_a"]
    login("HR1")
    _english(client)
    _send_link(client, pid)
    r = _send_link(client, pid)
    assert r.status_code == 302
    page = client.get(f"/people/{pid}").get_data(as_text=True)
    assert "less than 10 minutes ago" in page
    assert [k for k in _outbox(app) if k.startswith(f"welcome:{pid}")] == [f"welcome:{pid}:v1"]
    # Ten minutes later (the core takes the time), another goes out.
    from service.auth.accounts import resend_welcome
    from service.clock import now_utc
    from service.extensions import db
    from service.people.models import Person

    with app.test_request_context():
        assert resend_welcome(db.session.get(Person, pid), now_utc() + timedelta(minutes=11)).sent
        db.session.commit()
    assert f"welcome:{pid}:v2" in _outbox(app)


def test_a_corrected_address_gets_its_link_at_once(app, client, office, login):
    pid = office["staff_a"]
    login("HR1")
    _send_link(client, pid)
    _post_edit(client, pid, {**_form_values(app, pid), "email": "sa.new@example.org"})
    _send_link(client, pid)
    mails = _outbox(app)
    assert mails[f"welcome:{pid}:v2"].to_address == "sa.new@example.org"


def test_no_link_for_a_person_without_email_or_who_left(app, client, office, login):
    from service.extensions import db
    from service.people.models import Person

    with app.app_context():
        db.session.get(Person, office["staff_a"]).email = None
        db.session.get(Person, office["staff_b"]).left_on = date(2026, 1, 1)
        db.session.commit()
    login("HR1")
    _english(client)
    _send_link(client, office["staff_a"])
    assert "has no email address" in client.get(f"/people/{office['staff_a']}").get_data(as_text=True)
    _send_link(client, office["staff_b"])
    assert "has left the unit" in client.get(f"/people/{office['staff_b']}").get_data(as_text=True)
    assert not [k for k in _outbox(app) if k.startswith("welcome:")]


def test_send_link_needs_the_csrf_token(app, client, office, login):
    login("HR1")
    assert client.post(f"/people/{office['staff_a']}/send-link", data={}).status_code == 400
    assert not _outbox(app)
