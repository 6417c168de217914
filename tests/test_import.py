"""CSV import: all rows or none, every bad row reported by number and field, idempotent by
employee number; export in the same format."""
import pytest

HEADER = ("employee_no,name,name_en,email,section_code,post,rank,role,oversees,work_started_on,"
          "joined_on,birthday,celebrations_opt_out,relatives,language,left_on,rotation_exempt,is_hr_admin\n")
GOOD = (HEADER
        + "T001,赵敏,Zhao Min,zm@example.org,A,科员,科员,staff,,2012-07-01,2020-03-01,lunar:08-30,no,赵大海:parent;钱芳:spouse,zh_CN,,no,no\n"
        + "T002,孙强,,sq@example.org,B,副科长,,staff,,2001-09-01,2019-01-15,solar:02-29,yes,,en,,yes,no\n"
        + "T003,周杰,,zj@example.org,,副主任,,deputy,A;B,1998-01-01,2015-05-01,lunar:L04-12,no,,zh_CN,,no,no\n")


def _count(hr_api):
    return hr_api.get("/api/people?page_size=1").headers["X-Pagination"]


def _post(hr_api, text):
    return hr_api.post("/api/people/import", data=text.encode(), content_type="text/csv")


def test_import_creates_then_reimport_updates_without_duplicates(hr_api, office):
    r = _post(hr_api, GOOD)
    assert r.status_code == 200, r.json
    assert r.json == {"created": 3, "updated": 0, "unchanged": 0, "errors": []}
    people = {p["employee_no"]: p for p in hr_api.get("/api/people?q=T00").json}
    assert people["T001"]["birthday"] == {"calendar": "lunar", "month": 8, "day": 30, "leap": False}
    assert people["T003"]["birthday"]["leap"] is True
    assert sorted(people["T003"]["oversees"]) == sorted([office["section_a"], office["section_b"]])
    assert [r["relation"] for r in people["T001"]["relatives"]] == ["parent", "spouse"]
    again = _post(hr_api, GOOD.replace("T002,孙强,,sq@example.org,B,副科长", "T002,孙强,,sq@example.org,B,科长"))
    assert again.json == {"created": 0, "updated": 1, "unchanged": 2, "errors": []}
    assert hr_api.get("/api/people?q=T00").headers["X-Pagination"].count('"total": 3') == 1


def test_multipart_upload_works(hr_api, office):
    import io

    r = hr_api.post("/api/people/import", data={"file": (io.BytesIO(GOOD.encode("utf-8-sig")), "people.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 200 and r.json["created"] == 3


BAD_ROWS = [
    ("T009,,,,A,,,staff,,,,,no,,zh_CN,,no,no", "name"),
    ("T009,名字,,not-an-email,A,,,staff,,,,,no,,zh_CN,,no,no", "email"),
    ("T009,名字,,,ZZ,,,staff,,,,,no,,zh_CN,,no,no", "section_code"),
    ("T009,名字,,,A,,,boss,,,,,no,,zh_CN,,no,no", "role"),
    ("T009,名字,,,A,,,staff,,2020-02-30,,,no,,zh_CN,,no,no", "work_started_on"),
    ("T009,名字,,,A,,,staff,,2020-01-01,2019-01-01,,no,,zh_CN,,no,no", "joined_on"),
    ("T009,名字,,,A,,,staff,,,,solar:02-30,no,,zh_CN,,no,no", "birthday.day"),
    ("T009,名字,,,A,,,staff,,,,lunar:13-01,no,,zh_CN,,no,no", "birthday.month"),
    ("T009,名字,,,A,,,staff,,,,tomorrow,no,,zh_CN,,no,no", "birthday"),
    ("T009,名字,,,A,,,staff,,,,,maybe,,zh_CN,,no,no", "celebrations_opt_out"),
    ("T009,名字,,,A,,,staff,,,,,no,张三:uncle,zh_CN,,no,no", "relatives.0.relation"),
    ("T009,名字,,,A,,,staff,,,,,no,张三,zh_CN,,no,no", "relatives"),
    ("T009,名字,,,A,,,staff,,,,,no,,fr,,no,no", "language"),
    ("T009,名字,,,A,,,staff,ZZ,,,,no,,zh_CN,,no,no", "oversees"),
    ("T009,名字,,,A,,,staff,A,,,,no,,zh_CN,,no,no", "oversees"),
    ("T 9,名字,,,A,,,staff,,,,,no,,zh_CN,,no,no", "employee_no"),
    ("T009,名字,,sa@example.org,A,,,staff,,,,,no,,zh_CN,,no,no", "email"),
    ("T009,名字,,,A,,,staff,,,,,no,,zh_CN,,no,no,extra", ""),
    ("T001,重复,,,A,,,staff,,,,,no,,zh_CN,,no,no", "employee_no"),
]


@pytest.mark.parametrize("row,field", BAD_ROWS)
def test_each_bad_row_is_reported_and_nothing_is_written(hr_api, office, row, field):
    before = _count(hr_api)
    text = GOOD + row + "\n"
    r = _post(hr_api, text)
    assert r.status_code == 422
    errors = r.json["errors"]["rows"]
    assert {"row": 5, "field": field} in [{"row": e["row"], "field": e["field"]} for e in errors], errors
    assert all(e["row"] == 5 for e in errors)
    assert _count(hr_api) == before


def test_bad_header_and_empty_file_and_encoding(hr_api, office):
    r = _post(hr_api, "employee_no,nom\nX,Y\n")
    assert r.status_code == 422
    assert {e["field"] for e in r.json["errors"]["rows"]} == {"name", "nom"}
    assert _post(hr_api, "").status_code == 400
    r = hr_api.post("/api/people/import", data=GOOD.encode("gbk"), content_type="text/csv")
    assert r.status_code == 400 and "UTF-8" in r.json["message"]


def test_export_round_trips_and_neutralises_formulas(hr_api, office):
    _post(hr_api, GOOD.replace("T002,孙强", "T002,=HYPERLINK(1)"))
    exported = hr_api.get("/api/people/export.csv")
    assert exported.status_code == 200
    text = exported.get_data(as_text=True)
    assert "'=HYPERLINK(1)" in text
    r = _post(hr_api, text)
    assert r.status_code == 200, r.json
    assert r.json["created"] == 0 and r.json["updated"] == 0
    assert hr_api.get("/api/people?q=HYPERLINK").json[0]["name"] == "=HYPERLINK(1)"
