"""The baseline of ``bench/api_throughput.py``: a bare Flask app with the same JSON shapes.

No database, no authentication, no schemas: what Flask + gunicorn + JSON cost by themselves on
this machine. Run it with the same gunicorn settings as talkcare, e.g.

    .venv/bin/gunicorn --workers 2 --threads 4 --bind 127.0.0.1:8001 bench.bare_app:app
"""
from __future__ import annotations

import itertools

from flask import Flask, jsonify, request

app = Flask(__name__)
_ids = itertools.count(1)

# Fifty list items shaped like talkcare's people (public and private fields of an HR view).
_PEOPLE = [
    {
        "id": i, "employee_no": f"E{i:05d}", "name": "张伟", "name_en": "Zhang Wei",
        "email": f"e{i}@example.org", "section_id": 1, "section": {"code": "MSK"}, "post": "科员",
        "rank": "一级科员", "role": "staff", "oversees": [], "work_started_on": "2015-07-01",
        "joined_on": "2020-03-01", "birthday": {"calendar": "lunar", "month": 8, "day": 15, "leap": False},
        "celebrations_opt_out": False, "relatives": [{"id": i, "name": "王芳", "relation": "spouse"}],
        "language": "zh_CN", "left_on": None, "rotation_exempt": False, "is_hr_admin": False,
        "active": True,
    }
    for i in range(1, 51)
]


@app.post("/people")
def create_person():
    data = request.get_json(force=True, silent=True) or {}
    return jsonify({"id": next(_ids), "employee_no": data.get("employee_no"), "name": data.get("name"),
                    "email": data.get("email"), "active": True}), 201


@app.get("/people")
def list_people():
    size = min(max(request.args.get("page_size", 50, type=int), 1), 50)
    return jsonify(_PEOPLE[:size])
