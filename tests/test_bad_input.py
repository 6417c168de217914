import json
def test_probe(app, hr_api, office, client):
    def go(m, url, **kw):
        r = hr_api.client.open(url, method=m.upper(), headers={"Authorization": "Bearer "+hr_api.token}, **kw)
        print(m, url, str(kw)[:100], r.status_code, r.get_data(as_text=True)[:300])
        return r
    go("post", "/api/people", data='{"employee_no": "X9", "name": "\\ud800"}', content_type="application/json")
    go("post", "/api/sections", data='{"code": "Z9", "name": "\\udfff"}', content_type="application/json")
    go("post", "/api/tokens", data='{"name": "\\udfff"}', content_type="application/json")
    go("post", "/api/people", json={"employee_no": "X9", "name": "n", "joined_on": 20260101})
    go("post", "/api/people", json={"employee_no": "X9", "name": "n", "celebrations_opt_out": {"a": 1}})
    go("post", "/api/people", json={"employee_no": "X9", "name": "n", "celebrations_opt_out": [1]})
    go("post", "/api/people", data='{"employee_no": "X9", "name": "n", "section_id": NaN}', content_type="application/json")
    go("post", "/api/people", data='{"employee_no": "X9", "name": "n", "section_id": 1e400}', content_type="application/json")
    go("post", "/api/people/import", data="employee_no,name\nX1," + "a"*200000 + "\n", content_type="text/csv")
    go("post", "/api/people/import", data="employee_no,name,email\nX1,n,a\x00@b.org\n", content_type="text/csv")
    go("post", "/api/people/import", data="employee_no,name\nX\x001,n\x00\n", content_type="text/csv")
    z = go("post", "/api/sections", json={"code": "Z", "name": "z"}).json["id"]
    go("patch", f"/api/people/{office['deputy']}", json={"oversees": [office["section_a"], z]})
    go("delete", f"/api/sections/{z}")
    go("get", f"/api/people/{office['deputy']}")
    go("get", f"/api/people/{office['deputy']}/history")
    go("get", "/api/people/export.csv")
    go("post", "/api/people/export.csv")
    go("delete", "/api/audit")
    go("patch", "/api/tokens/1")
    assert 0
