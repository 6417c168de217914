"""Bad input over the API: never a 500, always the one error shape, and a rejected request changes
nothing. The table below is the catalogue; a generated test then throws random JSON at every field
of POST /api/people (and PATCH /api/people/<id>).

Runs on SQLite and PostgreSQL alike; PostgreSQL is the stricter one (NUL bytes in text, integer
overflow), which is what most of these rows are here to catch.
"""
from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import select

# --- helpers -----------------------------------------------------------------------------------


def db_state(app) -> dict:
    """Every row of every table (API tokens without their last-use time, which a read may touch)."""
    from service.extensions import db

    with app.app_context():
        state = {}
        for table in db.metadata.sorted_tables:
            cols = [c for c in table.columns if c.name != "last_used_at"]
            rows = db.session.execute(select(*cols).order_by(*table.primary_key.columns)).all()
            state[table.name] = [tuple(r) for r in rows]
        db.session.remove()
    return state


def assert_error_shape(response, status: int, path: tuple | None = None) -> None:
    """The one error shape {code, status, message?, errors?}; ``path`` names the offending field
    inside ``errors`` (e.g. ("json", "birthday", "day"))."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:500]
    assert response.mimetype == "application/json", text[:500]
    body = response.get_json()
    assert isinstance(body, dict), text[:500]
    assert body["code"] == status and isinstance(body["status"], str) and body["status"], body
    assert set(body) <= {"code", "status", "message", "errors"}, body
    if "message" in body:
        assert isinstance(body["message"], str)
    if path:
        node = body.get("errors")
        for key in path:
            assert isinstance(node, dict) and key in node, (path, body)
            node = node[key]


def raw_json(obj) -> dict:
    """A JSON body written by hand (json.dumps keeps lone surrogates as \\udxxx escapes)."""
    return {"data": json.dumps(obj), "content_type": "application/json"}


def csv_body(text: str) -> dict:
    return {"data": text.encode("utf-8"), "content_type": "text/csv"}


def person(**over) -> dict:
    return {"employee_no": "NEW1", "name": "新人", **over}


def section(**over) -> dict:
    return {"code": "NEW", "name": "新科室", **over}


BIG = 10**20
LONG = "长" * 10_000

# (case, method, url, request kwargs, expected status, path of the field named in errors)
# URL fields: {staff_a}, {deputy}, {section_a}, {section_b}. Every row must leave the database as it was.
BAD = [
    # --- body that is not a JSON object ----------------------------------------------------------
    ("malformed_json", "POST", "/api/people", {"data": '{"employee_no": "X",', "content_type": "application/json"}, 400, ("json",)),
    ("malformed_json_patch", "PATCH", "/api/people/{staff_a}", {"data": "{'post': 1}", "content_type": "application/json"}, 400, ("json",)),
    ("malformed_json_section", "POST", "/api/sections", {"data": "{", "content_type": "application/json"}, 400, ("json",)),
    ("json_list", "POST", "/api/people", {"json": [person()]}, 422, ("json", "_schema")),
    ("json_string", "POST", "/api/people", {"json": "employee_no=X"}, 422, ("json", "_schema")),
    ("json_number", "POST", "/api/sections", {"json": 42}, 422, ("json", "_schema")),
    ("json_list_patch", "PATCH", "/api/people/{staff_a}", {"json": [{"post": "x"}]}, 422, ("json", "_schema")),
    ("json_list_token", "POST", "/api/tokens", {"json": ["read"]}, 422, ("json", "_schema")),
    # --- wrong content type ----------------------------------------------------------------------
    ("text_plain_body", "POST", "/api/people", {"data": json.dumps(person()), "content_type": "text/plain"}, 422, ("json", "employee_no")),
    ("form_body", "POST", "/api/people", {"data": "employee_no=X1&name=n", "content_type": "application/x-www-form-urlencoded"}, 422, ("json", "name")),
    ("import_json_body", "POST", "/api/people/import", {"json": {"employee_no": "X1"}}, 422, ("rows",)),
    ("import_empty", "POST", "/api/people/import", csv_body(""), 400, ("files", "file")),
    ("import_not_utf8", "POST", "/api/people/import", {"data": "employee_no,name\nX1,王\n".encode("gbk"), "content_type": "text/csv"}, 400, ("files", "file")),
    # --- wrong types -----------------------------------------------------------------------------
    ("name_int", "POST", "/api/people", {"json": person(name=5)}, 422, ("json", "name")),
    ("employee_no_int", "POST", "/api/people", {"json": person(employee_no=123)}, 422, ("json", "employee_no")),
    ("section_id_string", "POST", "/api/people", {"json": person(section_id="1")}, 422, ("json", "section_id")),
    ("section_id_word", "POST", "/api/people", {"json": person(section_id="abc")}, 422, ("json", "section_id")),
    ("section_id_float", "POST", "/api/people", {"json": person(section_id=1.5)}, 422, ("json", "section_id")),
    ("section_id_bool", "POST", "/api/people", {"json": person(section_id=True)}, 422, ("json", "section_id")),
    ("joined_on_object", "POST", "/api/people", {"json": person(joined_on={"y": 2026})}, 422, ("json", "joined_on")),
    ("joined_on_int", "POST", "/api/people", {"json": person(joined_on=20260101)}, 422, ("json", "joined_on")),
    ("birthday_string", "POST", "/api/people", {"json": person(birthday="03-01")}, 422, ("json", "birthday")),
    ("birthday_list", "POST", "/api/people", {"json": person(birthday=[3, 1])}, 422, ("json", "birthday")),
    ("relatives_object", "POST", "/api/people", {"json": person(relatives={"name": "王", "relation": "parent"})}, 422, ("json", "relatives")),
    ("relative_not_object", "POST", "/api/people", {"json": person(relatives=["王"])}, 422, ("json", "relatives")),
    ("oversees_string", "PATCH", "/api/people/{deputy}", {"json": {"oversees": "1"}}, 422, ("json", "oversees")),
    ("opt_out_word", "PATCH", "/api/people/{staff_a}", {"json": {"celebrations_opt_out": "maybe"}}, 422, ("json", "celebrations_opt_out")),
    ("opt_out_object", "PATCH", "/api/people/{staff_a}", {"json": {"celebrations_opt_out": {"a": 1}}}, 422, ("json", "celebrations_opt_out")),
    ("min_base_staff_string", "POST", "/api/sections", {"json": section(min_base_staff="3")}, 422, ("json", "min_base_staff")),
    ("min_base_staff_float", "PATCH", "/api/sections/{section_a}", {"json": {"min_base_staff": 1.5}}, 422, ("json", "min_base_staff")),
    ("token_name_int", "POST", "/api/tokens", {"json": {"name": 5}}, 422, ("json", "name")),
    ("nan_for_int", "POST", "/api/people", {"data": '{"employee_no": "X1", "name": "n", "section_id": NaN}', "content_type": "application/json"}, 422, ("json", "section_id")),
    ("inf_for_int", "POST", "/api/people", {"data": '{"employee_no": "X1", "name": "n", "section_id": 1e400}', "content_type": "application/json"}, 422, ("json", "section_id")),
    # --- null where a value is required ----------------------------------------------------------
    ("name_null", "PATCH", "/api/people/{staff_a}", {"json": {"name": None}}, 422, ("json", "name")),
    ("role_null", "PATCH", "/api/people/{staff_a}", {"json": {"role": None}}, 422, ("json", "role")),
    ("relatives_null", "PATCH", "/api/people/{staff_a}", {"json": {"relatives": None}}, 422, ("json", "relatives")),
    ("section_code_null", "PATCH", "/api/sections/{section_a}", {"json": {"code": None}}, 422, ("json", "code")),
    ("min_base_staff_null", "PATCH", "/api/sections/{section_a}", {"json": {"min_base_staff": None}}, 422, ("json", "min_base_staff")),
    # --- unknown fields --------------------------------------------------------------------------
    ("unknown_field", "POST", "/api/people", {"json": person(salary=1)}, 422, ("json", "salary")),
    ("dump_only_id", "POST", "/api/people", {"json": person(id=5)}, 422, ("json", "id")),
    ("dump_only_active", "PATCH", "/api/people/{staff_a}", {"json": {"active": False}}, 422, ("json", "active")),
    ("unknown_field_patch", "PATCH", "/api/people/{staff_a}", {"json": {"password_hash": "x"}}, 422, ("json", "password_hash")),
    ("unknown_field_section", "POST", "/api/sections", {"json": section(id=1)}, 422, ("json", "id")),
    ("unknown_field_token", "POST", "/api/tokens", {"json": {"name": "x", "person_id": 1}}, 422, ("json", "person_id")),
    ("unknown_relative_field", "POST", "/api/people", {"json": person(relatives=[{"name": "王", "relation": "parent", "age": 60}])}, 422, ("json", "relatives", "0", "age")),
    # --- huge strings ----------------------------------------------------------------------------
    ("name_10000", "POST", "/api/people", {"json": person(name=LONG)}, 422, ("json", "name")),
    ("employee_no_10000", "POST", "/api/people", {"json": person(employee_no="X" * 10_000)}, 422, ("json", "employee_no")),
    ("email_10000", "POST", "/api/people", {"json": person(email="a" * 10_000 + "@example.org")}, 422, ("json", "email")),
    ("post_10000", "PATCH", "/api/people/{staff_a}", {"json": {"post": LONG}}, 422, ("json", "post")),
    ("relative_name_10000", "POST", "/api/people", {"json": person(relatives=[{"name": LONG, "relation": "parent"}])}, 422, ("json", "relatives", "0", "name")),
    ("relatives_51", "POST", "/api/people", {"json": person(relatives=[{"name": "王", "relation": "other"}] * 51)}, 422, ("json", "relatives")),
    ("section_name_10000", "PATCH", "/api/sections/{section_a}", {"json": {"name": LONG}}, 422, ("json", "name")),
    ("token_name_10000", "POST", "/api/tokens", {"json": {"name": LONG}}, 422, ("json", "name")),
    ("query_q_10000", "GET", "/api/people?q=" + "x" * 10_000, {}, 422, ("query", "q")),
    ("name_blank", "POST", "/api/people", {"json": person(name="   ")}, 422, ("json", "name")),
    # --- NUL and control characters (PostgreSQL refuses NUL in text) --------------------------------
    ("name_nul", "POST", "/api/people", {"json": person(name="王\x00芳")}, 422, ("json", "name")),
    ("employee_no_nul", "POST", "/api/people", {"json": person(employee_no="X\x001")}, 422, ("json", "employee_no")),
    ("email_nul", "POST", "/api/people", {"json": person(email="a\x00@example.org")}, 422, ("json", "email")),
    ("name_en_escape", "PATCH", "/api/people/{staff_a}", {"json": {"name_en": "x\x1b[31m"}}, 422, ("json", "name_en")),
    ("post_bell", "PATCH", "/api/people/{staff_a}", {"json": {"post": "\x07"}}, 422, ("json", "post")),
    ("rank_del", "PATCH", "/api/people/{staff_a}", {"json": {"rank": "a\x7fb"}}, 422, ("json", "rank")),
    ("relative_name_nul", "POST", "/api/people", {"json": person(relatives=[{"name": "\x00", "relation": "parent"}])}, 422, ("json", "relatives", "0", "name")),
    ("section_code_nul", "POST", "/api/sections", {"json": section(code="A\x00")}, 422, ("json", "code")),
    ("section_name_newline", "PATCH", "/api/sections/{section_a}", {"json": {"name": "a\nb"}}, 422, ("json", "name")),
    ("token_name_nul", "POST", "/api/tokens", {"json": {"name": "\x00"}}, 422, ("json", "name")),
    ("query_q_nul", "GET", "/api/people?q=%00", {}, 422, ("query", "q")),
    ("query_sections_nul", "GET", "/api/sections?q=a%00", {}, 422, ("query", "q")),
    ("audit_resource_nul", "GET", "/api/audit?resource=%00", {}, 422, ("query", "resource")),
    # Lone UTF-16 surrogates are valid JSON escapes but cannot be stored as UTF-8 (either backend).
    ("name_lone_surrogate", "POST", "/api/people", raw_json(person(name="王\ud800")), 422, ("json", "name")),
    ("section_name_lone_surrogate", "POST", "/api/sections", raw_json(section(name="\udfff")), 422, ("json", "name")),
    ("token_name_lone_surrogate", "POST", "/api/tokens", raw_json({"name": "\ud83d"}), 422, ("json", "name")),
    ("post_lone_surrogate", "PATCH", "/api/people/{staff_a}", raw_json({"post": "\udc00"}), 422, ("json", "post")),
    # --- bad dates -------------------------------------------------------------------------------
    ("date_feb_30", "POST", "/api/people", {"json": person(joined_on="2026-02-30")}, 422, ("json", "joined_on")),
    ("date_word", "POST", "/api/people", {"json": person(joined_on="yesterday")}, 422, ("json", "joined_on")),
    ("date_1800", "POST", "/api/people", {"json": person(work_started_on="1800-01-01")}, 422, ("json", "work_started_on")),
    ("date_2101", "PATCH", "/api/people/{staff_a}", {"json": {"left_on": "2101-01-01"}}, 422, ("json", "left_on")),
    ("date_empty", "PATCH", "/api/people/{staff_a}", {"json": {"joined_on": ""}}, 422, ("json", "joined_on")),
    ("date_year_0", "PATCH", "/api/people/{staff_a}", {"json": {"joined_on": "0000-01-01"}}, 422, ("json", "joined_on")),
    ("date_5_digit_year", "PATCH", "/api/people/{staff_a}", {"json": {"joined_on": "20260-01-01"}}, 422, ("json", "joined_on")),
    ("effective_from_month_13", "PATCH", "/api/people/{staff_a}", {"json": {"post": "x", "effective_from": "2026-13-01"}}, 422, ("json", "effective_from")),
    ("query_as_of_feb_30", "GET", "/api/people?as_of=2026-02-30", {}, 422, ("query", "as_of")),
    ("query_as_of_1800", "GET", "/api/people?as_of=1800-01-01", {}, 422, ("query", "as_of")),
    ("audit_since_word", "GET", "/api/audit?since=yesterday", {}, 422, ("query", "since")),
    # --- unknown ids in the URL ------------------------------------------------------------------
    ("person_999999", "GET", "/api/people/999999", {}, 404, None),
    ("person_huge_id", "GET", "/api/people/99999999999999999999", {}, 404, None),
    ("person_int64_id", "GET", f"/api/people/{2**63}", {}, 404, None),
    ("person_0", "GET", "/api/people/0", {}, 404, None),
    ("person_negative", "GET", "/api/people/-1", {}, 404, None),
    ("person_word", "GET", "/api/people/abc", {}, 404, None),
    ("patch_person_huge_id", "PATCH", "/api/people/99999999999999999999", {"json": {"post": "x"}}, 404, None),
    ("history_huge_id", "GET", "/api/people/99999999999999999999/history", {}, 404, None),
    ("section_999999", "GET", "/api/sections/999999", {}, 404, None),
    ("patch_section_huge_id", "PATCH", "/api/sections/99999999999999999999", {"json": {"name": "x"}}, 404, None),
    ("delete_section_huge_id", "DELETE", "/api/sections/99999999999999999999", {}, 404, None),
    ("token_huge_id", "GET", "/api/tokens/99999999999999999999", {}, 404, None),
    ("revoke_token_999999", "DELETE", "/api/tokens/999999", {}, 404, None),
    ("retry_huge_id", "POST", "/api/outbox/99999999999999999999/retry", {}, 404, None),
    ("unknown_route", "GET", "/api/nothing-here", {}, 404, None),
    # --- unknown ids in the body -----------------------------------------------------------------
    ("section_id_999999", "POST", "/api/people", {"json": person(section_id=999999)}, 422, ("json", "section_id")),
    ("section_id_2pow31", "POST", "/api/people", {"json": person(section_id=2**31)}, 422, ("json", "section_id")),
    ("section_id_zero", "POST", "/api/people", {"json": person(section_id=0)}, 422, ("json", "section_id")),
    ("oversees_999999", "POST", "/api/people", {"json": person(role="deputy", oversees=[999999])}, 422, ("json", "oversees")),
    ("oversees_999999_patch", "PATCH", "/api/people/{deputy}", {"json": {"oversees": [999999]}}, 422, ("json", "oversees")),
    ("oversees_huge", "PATCH", "/api/people/{deputy}", {"json": {"oversees": [BIG]}}, 422, ("json", "oversees")),
    ("patch_section_id_999999", "PATCH", "/api/people/{staff_a}", {"json": {"section_id": 999999}}, 422, ("json", "section_id")),
    # --- huge integers ---------------------------------------------------------------------------
    ("min_base_staff_huge", "POST", "/api/sections", {"json": section(min_base_staff=BIG)}, 422, ("json", "min_base_staff")),
    ("min_base_staff_negative", "PATCH", "/api/sections/{section_a}", {"json": {"min_base_staff": -1}}, 422, ("json", "min_base_staff")),
    ("birthday_month_huge", "POST", "/api/people", {"json": person(birthday={"calendar": "solar", "month": BIG, "day": 1})}, 422, ("json", "birthday", "month")),
    ("page_size_0", "GET", "/api/people?page_size=0", {}, 422, ("query", "page_size")),
    ("page_size_negative", "GET", "/api/people?page_size=-1", {}, 422, ("query", "page_size")),
    ("page_size_1e9", "GET", "/api/people?page_size=1000000000", {}, 422, ("query", "page_size")),
    ("page_0", "GET", "/api/sections?page=0", {}, 422, ("query", "page")),
    ("page_word", "GET", "/api/audit?page=first", {}, 422, ("query", "page")),
    ("query_section_id_huge", "GET", f"/api/people?section_id={BIG}", {}, 422, ("query", "section_id")),
    ("tokens_person_id_huge", "GET", f"/api/tokens?person_id={BIG}", {}, 422, ("query", "person_id")),
    ("audit_actor_id_huge", "GET", f"/api/audit?actor_id={BIG}", {}, 422, ("query", "actor_id")),
    ("outbox_recipient_id_huge", "GET", f"/api/outbox?recipient_id={BIG}", {}, 422, ("query", "recipient_id")),
    # --- cross-field rules (the stored values count) -----------------------------------------------
    ("joined_before_started", "PATCH", "/api/people/{staff_a}", {"json": {"joined_on": "2009-12-31"}}, 422, ("json", "joined_on")),
    ("started_after_joined", "PATCH", "/api/people/{staff_a}", {"json": {"work_started_on": "2021-01-01"}}, 422, ("json", "joined_on")),
    ("left_before_joined", "PATCH", "/api/people/{staff_a}", {"json": {"left_on": "2019-12-31"}}, 422, ("json", "left_on")),
    ("oversees_for_staff", "PATCH", "/api/people/{staff_a}", {"json": {"oversees": ["{section_b}"]}}, 422, ("json", "oversees")),
    ("oversees_for_chief", "POST", "/api/people", {"json": person(role="chief", oversees=["{section_a}"])}, 422, ("json", "oversees")),
    ("deputy_demoted_keeping_charge", "PATCH", "/api/people/{deputy}", {"json": {"role": "staff"}}, 422, ("json", "oversees")),
    ("post_joined_before_started", "POST", "/api/people", {"json": person(work_started_on="2020-01-01", joined_on="2019-01-01")}, 422, ("json", "joined_on")),
    ("post_left_before_joined", "POST", "/api/people", {"json": person(joined_on="2020-01-01", left_on="2019-01-01")}, 422, ("json", "left_on")),
    # --- duplicates ------------------------------------------------------------------------------
    ("duplicate_email", "POST", "/api/people", {"json": person(email="sa@example.org")}, 409, ("json", "email")),
    ("duplicate_email_patch", "PATCH", "/api/people/{staff_a}", {"json": {"email": "sb@example.org"}}, 409, ("json", "email")),
    ("duplicate_employee_no", "POST", "/api/people", {"json": person(employee_no="SA")}, 409, ("json", "employee_no")),
    ("duplicate_employee_no_patch", "PATCH", "/api/people/{staff_a}", {"json": {"employee_no": "SB"}}, 409, ("json", "employee_no")),
    ("duplicate_section_code", "POST", "/api/sections", {"json": section(code="A")}, 409, ("json", "code")),
    ("duplicate_section_code_patch", "PATCH", "/api/sections/{section_b}", {"json": {"code": "A"}}, 409, ("json", "code")),
    ("section_in_use_delete", "DELETE", "/api/sections/{section_a}", {}, 409, None),
    # --- bad birthdays ---------------------------------------------------------------------------
    ("solar_feb_30", "POST", "/api/people", {"json": person(birthday={"calendar": "solar", "month": 2, "day": 30})}, 422, ("json", "birthday", "day")),
    ("solar_apr_31", "PATCH", "/api/people/{staff_a}", {"json": {"birthday": {"calendar": "solar", "month": 4, "day": 31}}}, 422, ("json", "birthday", "day")),
    ("lunar_day_31", "POST", "/api/people", {"json": person(birthday={"calendar": "lunar", "month": 8, "day": 31})}, 422, ("json", "birthday", "day")),
    ("solar_with_leap", "POST", "/api/people", {"json": person(birthday={"calendar": "solar", "month": 5, "day": 1, "leap": True})}, 422, ("json", "birthday", "leap")),
    ("birthday_month_13", "POST", "/api/people", {"json": person(birthday={"calendar": "lunar", "month": 13, "day": 1})}, 422, ("json", "birthday", "month")),
    ("birthday_day_0", "POST", "/api/people", {"json": person(birthday={"calendar": "solar", "month": 1, "day": 0})}, 422, ("json", "birthday", "day")),
    ("birthday_calendar_unknown", "POST", "/api/people", {"json": person(birthday={"calendar": "gregorian", "month": 1, "day": 1})}, 422, ("json", "birthday", "calendar")),
    ("birthday_month_missing", "POST", "/api/people", {"json": person(birthday={"calendar": "solar", "day": 1})}, 422, ("json", "birthday", "month")),
    ("birthday_month_string", "POST", "/api/people", {"json": person(birthday={"calendar": "solar", "month": "3", "day": 1})}, 422, ("json", "birthday", "month")),
    # A PATCH may leave out fields of the person, not fields of a birthday or of a relative.
    ("patch_birthday_empty", "PATCH", "/api/people/{staff_a}", {"json": {"birthday": {}}}, 422, ("json", "birthday", "calendar")),
    ("patch_birthday_no_month", "PATCH", "/api/people/{staff_a}", {"json": {"birthday": {"calendar": "solar", "day": 1}}}, 422, ("json", "birthday", "month")),
    ("patch_lunar_birthday_no_month", "PATCH", "/api/people/{staff_a}", {"json": {"birthday": {"calendar": "lunar", "day": 3}}}, 422, ("json", "birthday", "month")),
    ("patch_relative_empty", "PATCH", "/api/people/{staff_a}", {"json": {"relatives": [{}]}}, 422, ("json", "relatives", "0", "name")),
    ("patch_relative_no_relation", "PATCH", "/api/people/{staff_a}", {"json": {"relatives": [{"name": "王"}]}}, 422, ("json", "relatives", "0", "relation")),
    ("birthday_unknown_key", "POST", "/api/people", {"json": person(birthday={"calendar": "solar", "month": 3, "day": 1, "year": 1990})}, 422, ("json", "birthday", "year")),
    # --- invalid enums ---------------------------------------------------------------------------
    ("role_unknown", "POST", "/api/people", {"json": person(role="boss")}, 422, ("json", "role")),
    ("role_case", "PATCH", "/api/people/{staff_a}", {"json": {"role": "Chief"}}, 422, ("json", "role")),
    ("language_unknown", "POST", "/api/people", {"json": person(language="fr")}, 422, ("json", "language")),
    ("relation_unknown", "POST", "/api/people", {"json": person(relatives=[{"name": "王", "relation": "cousin"}])}, 422, ("json", "relatives", "0", "relation")),
    ("token_scope_unknown", "POST", "/api/tokens", {"json": {"name": "x", "scope": "admin"}}, 422, ("json", "scope")),
    ("query_role_unknown", "GET", "/api/people?role=boss", {}, 422, ("query", "role")),
    ("query_active_word", "GET", "/api/people?active=perhaps", {}, 422, ("query", "active")),
    ("outbox_status_unknown", "GET", "/api/outbox?status=lost", {}, 422, ("query", "status")),
    # --- CSV import ------------------------------------------------------------------------------
    ("import_unknown_column", "POST", "/api/people/import", csv_body("employee_no,name,salary\nX1,n,1\n"), 422, ("rows",)),
    ("import_bad_row", "POST", "/api/people/import", csv_body("employee_no,name,joined_on\nX1,n,2026-02-30\n"), 422, ("rows",)),
    ("import_nul_cells", "POST", "/api/people/import", csv_body("employee_no,name\nX\x001,n\x00\n"), 422, ("rows",)),
    ("import_nul_email", "POST", "/api/people/import", csv_body("employee_no,name,email\nX1,n,a\x00@example.org\n"), 422, ("rows",)),
    ("import_huge_cell", "POST", "/api/people/import", csv_body("employee_no,name\nX1," + "n" * 200_000 + "\n"), 422, ("rows",)),
    ("import_one_good_one_bad", "POST", "/api/people/import", csv_body("employee_no,name,role\nX1,甲,staff\nX2,乙,boss\n"), 422, ("rows",)),
    # --- unsupported methods ---------------------------------------------------------------------
    ("put_people", "PUT", "/api/people", {"json": person()}, 405, None),
    ("delete_people", "DELETE", "/api/people", {}, 405, None),
    ("delete_person", "DELETE", "/api/people/{staff_a}", {}, 405, None),
    ("post_person", "POST", "/api/people/{staff_a}", {"json": person()}, 405, None),
    ("put_section", "PUT", "/api/sections/{section_a}", {"json": section()}, 405, None),
    ("post_audit", "POST", "/api/audit", {"json": {}}, 405, None),
    ("delete_outbox", "DELETE", "/api/outbox", {}, 405, None),
    ("get_retry", "GET", "/api/outbox/1/retry", {}, 405, None),
    ("post_export", "POST", "/api/people/export.csv", {}, 405, None),
    ("get_import", "GET", "/api/people/import", {}, 405, None),
    ("patch_token", "PATCH", "/api/tokens/1", {"json": {"name": "x"}}, 405, None),
    ("put_history", "PUT", "/api/people/{staff_a}/history", {}, 405, None),
]


def _fill(value, ids):
    """Put the office's ids into a URL or a JSON body ("{section_a}" -> 1)."""
    if isinstance(value, str):
        for key in ("staff_a", "deputy", "section_a", "section_b"):
            if value == "{%s}" % key:
                return ids[key]
            value = value.replace("{%s}" % key, str(ids[key]))
        return value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def test_catalogue_has_unique_cases():
    names = [row[0] for row in BAD]
    assert len(names) == len(set(names))
    assert {row[4] for row in BAD} == {400, 404, 405, 409, 422}


@pytest.mark.parametrize("case,method,url,kwargs,status,path", BAD, ids=[row[0] for row in BAD])
def test_bad_input_is_refused_and_changes_nothing(app, office, hr_api, case, method, url, kwargs, status, path):
    kwargs = dict(kwargs)
    if "json" in kwargs:
        kwargs["json"] = _fill(kwargs["json"], office)
    hr_api.get("/api/sections")  # first use of the token is stamped; done before the snapshot
    before = db_state(app)
    r = hr_api.client.open(_fill(url, office), method=method, headers={"Authorization": f"Bearer {hr_api.token}"},
                           **kwargs)
    assert_error_shape(r, status, path)
    assert db_state(app) == before, f"{case}: refused, yet the database changed"


# --- odd but acceptable -------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    f"/api/people?page={10**30}",
    f"/api/people?page={2**31}&page_size=100",
    f"/api/sections?page={10**30}",
    f"/api/audit?page={2**63}",
    "/api/people?q=%25_%5C",  # LIKE wildcards and the escape character are plain text
    "/api/people?q=%ED%A0%80",  # an encoded lone surrogate becomes U+FFFD, not an error
])
def test_far_pages_and_odd_searches_are_empty_not_errors(app, office, hr_api, url):
    before = db_state(app)
    r = hr_api.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.json == []
    assert db_state(app) == before


def test_body_over_max_content_length_is_413(app, office, hr_api):
    hr_api.get("/api/sections")
    before = db_state(app)
    saved = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        for method, url, kwargs in (
                ("POST", "/api/people", {"json": person(name="王" * 2000)}),
                ("PATCH", f"/api/people/{office['staff_a']}", {"json": {"post": "x" * 5000}}),
                ("POST", "/api/people/import", csv_body("employee_no,name\n" + "X1,n\n" * 1000)),
                ("POST", "/api/people/import", {"data": {"file": (__import__("io").BytesIO(b"employee_no,name\n" + b"X,n\n" * 1000), "p.csv")},
                                                "content_type": "multipart/form-data"})):
            r = hr_api.client.open(url, method=method, headers={"Authorization": f"Bearer {hr_api.token}"}, **kwargs)
            assert_error_shape(r, 413)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = saved
    assert db_state(app) == before


def test_section_overseen_by_a_deputy_is_in_use(app, office, hr_api):
    """A section a deputy oversees stays (409), as one people are posted to does; deleting it
    would leave the deputy's charge pointing at nothing (and break the CSV export)."""
    new = hr_api.post("/api/sections", json=section(code="Z", name="空科室"))
    assert new.status_code == 201, new.json
    r = hr_api.patch(f"/api/people/{office['deputy']}", json={"oversees": [office["section_a"], new.json["id"]]})
    assert r.status_code == 200, r.json
    before = db_state(app)
    r = hr_api.delete(f"/api/sections/{new.json['id']}")
    assert_error_shape(r, 409)
    assert db_state(app) == before
    assert hr_api.get("/api/people/export.csv").status_code == 200


def test_duplicate_email_differs_only_in_nothing_else(app, office, hr_api):
    """409 on a duplicate email leaves no half-made person (no row, no welcome email, no audit)."""
    hr_api.get("/api/sections")
    before = db_state(app)
    r = hr_api.post("/api/people", json=person(email="sb@example.org", relatives=[{"name": "王", "relation": "parent"}],
                                               birthday={"calendar": "lunar", "month": 1, "day": 1}))
    assert_error_shape(r, 409, ("json", "email"))
    assert db_state(app) == before


def test_the_good_version_of_each_fixed_request_works(app, office, hr_api):
    """The refusals above are about the values, not the endpoints: near-identical good requests pass."""
    assert hr_api.post("/api/people", json=person(birthday={"calendar": "solar", "month": 2, "day": 29},
                                                  joined_on="2026-02-28")).status_code == 201
    assert hr_api.post("/api/people", json=person(employee_no="NEW2", name="乙", role="deputy",
                                                  oversees=[office["section_a"]])).status_code == 201
    assert hr_api.patch(f"/api/people/{office['deputy']}", json={"role": "staff", "oversees": []}).status_code == 200
    assert hr_api.patch(f"/api/people/{office['staff_a']}", json={"left_on": "2020-01-01"}).status_code == 200
    assert hr_api.post("/api/people/import", **csv_body("employee_no,name\nX1,甲\n")).status_code == 200
    assert hr_api.post("/api/tokens", json={"name": "script"}).status_code == 201


# --- generated input ----------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PERSON_FIELDS = ["employee_no", "name", "name_en", "email", "section_id", "post", "rank", "role", "oversees",
                 "work_started_on", "joined_on", "birthday", "celebrations_opt_out", "relatives", "language",
                 "left_on", "rotation_exempt", "is_hr_admin", "effective_from", "id", "unknown"]

_scalars = (st.none() | st.booleans() | st.integers() | st.integers(-2**70, 2**70)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40)
            | st.sampled_from(["", " ", "\x00", "2026-02-30", "1800-01-01", "2026-01-01", "9999-12-31",
                               "staff", "deputy", "lunar", "solar", "a@b.org", "x" * 300, 2**31 - 1, 2**31,
                               2**63, -1, 0, 1, 1.0, "1", "true"]))
_birthdays = st.fixed_dictionaries({"calendar": st.sampled_from(["solar", "lunar", "x"]),
                                    "month": st.integers(-2, 14) | _scalars,
                                    "day": st.integers(-1, 32) | _scalars},
                                   optional={"leap": _scalars})
_relatives = st.lists(st.fixed_dictionaries({"name": _scalars, "relation": st.sampled_from(
    ["parent", "spouse", "cousin"]) | _scalars}) | _scalars, max_size=3)
JSON_VALUES = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=8) \
    | _birthdays | _relatives
_numbers = itertools.count(1)


def _check_generated(app, response):
    text = response.get_data(as_text=True)
    assert response.status_code < 500, text[:500]
    if response.status_code >= 400:
        body = response.get_json()
        assert isinstance(body, dict) and body.get("code") == response.status_code, text[:500]


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=st.dictionaries(st.sampled_from(PERSON_FIELDS), JSON_VALUES, min_size=1, max_size=3))
def test_generated_post_person_never_500(app, office, hr_api, fields):
    body = {"employee_no": f"G{next(_numbers)}", "name": "生成", **fields}
    r = hr_api.post("/api/people", json=body)
    _check_generated(app, r)


@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=st.dictionaries(st.sampled_from(PERSON_FIELDS), JSON_VALUES, min_size=1, max_size=3),
       target=st.sampled_from(["staff_a", "deputy", "chief_b"]))
def test_generated_patch_person_never_500(app, office, hr_api, fields, target):
    r = hr_api.patch(f"/api/people/{office[target]}", json=fields)
    _check_generated(app, r)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=JSON_VALUES)
def test_generated_whole_bodies_never_500(app, office, hr_api, body):
    for url in ("/api/people", "/api/sections", "/api/tokens"):
        _check_generated(app, hr_api.post(url, json=body))
