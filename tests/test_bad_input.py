import json
def test_probe(app, hr_api, office, client):
    cases = [
        ("post", "/api/people", dict(data="{bad", content_type="application/json")),
        ("post", "/api/people", dict(json=[1,2])),
        ("post", "/api/people", dict(json="abc")),
        ("post", "/api/people", dict(json={"employee_no": "X1", "name": "n", "bogus": 1})),
        ("post", "/api/people", dict(data="employee_no=X", content_type="application/x-www-form-urlencoded")),
        ("post", "/api/people", dict(data="{}", content_type="text/plain")),
        ("put", "/api/people", {}),
        ("delete", f"/api/people/{office['staff_a']}", {}),
        ("get", "/api/people/99999999999999999999", {}),
        ("get", "/api/people?page=1000000000000000000000000000000", {}),
        ("get", "/api/people?page_size=0", {}),
        ("get", "/api/people?page_size=1000000000", {}),
        ("get", "/api/people?page=0", {}),
        ("get", "/api/nonexistent", {}),
        ("post", "/api/sections", dict(json={"code": "Q", "name": "q", "min_base_staff": 10**20})),
        ("patch", f"/api/people/{office['staff_a']}", dict(json={"joined_on": "2000-01-01"})),
        ("patch", f"/api/people/{office['staff_a']}", dict(json={"oversees": [office['section_a']]})),
        ("patch", f"/api/people/{office['staff_a']}", dict(json={"left_on": "2019-01-01"})),
        ("patch", f"/api/people/{office['staff_a']}", dict(json={"email": "sb@example.org"})),
        ("patch", f"/api/people/{office['staff_a']}", dict(json={"section_id": 999999})),
        ("patch", f"/api/people/{office['staff_a']}", dict(json={"birthday": {"calendar": "solar", "month": 2, "day": 30}})),
        ("post", "/api/people", dict(json={"employee_no": "X2", "name": "a\x00b"})),
        ("post", "/api/people", dict(json={"employee_no": "X2", "name": "a", "joined_on": {"a": 1}})),
        ("post", "/api/people", dict(json={"employee_no": 5, "name": "a"})),
        ("get", "/api/people?q=%00", {}),
        ("get", "/api/people?section_id=99999999999999", {}),
        ("get", "/api/audit?resource_id=%00", {}),
        ("post", "/api/people/import", dict(data=b"\xff\xfe", content_type="text/csv")),
    ]
    for m, url, kw in cases:
        r = hr_api.client.open(url, method=m.upper(), headers={"Authorization": "Bearer "+hr_api.token}, **kw)
        print(m, url, kw, r.status_code, r.get_data(as_text=True)[:300])
    app.config["MAX_CONTENT_LENGTH"] = 100
    r = hr_api.post("/api/people", json={"employee_no": "X3", "name": "a"*500})
    print("413?", r.status_code, r.get_data(as_text=True)[:300])
    r = hr_api.post("/api/people/import", data="a"*500, content_type="text/csv")
    print("413?", r.status_code, r.get_data(as_text=True)[:300])
    app.config["MAX_CONTENT_LENGTH"] = 10*1024*1024
    r = client.get("/api/people")
    print("noauth", r.status_code, r.get_data(as_text=True)[:300])
    assert 0
