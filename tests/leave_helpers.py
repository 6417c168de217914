"""Shared helpers of the leave tests (not a test module)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select


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


def assert_field_error(response, status: int, field: str, location: str = "json") -> dict:
    """The one error shape, with the offending field named."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:600]
    body = response.get_json()
    assert body["code"] == status and body["status"], body
    assert set(body) <= {"code", "status", "message", "errors"}, body
    assert field in body.get("errors", {}).get(location, {}), body
    return body


def set_today(monkeypatch, day: date) -> None:
    """The unit's today for the leave edges (API, pages)."""
    import service.leave.api
    import service.leave.web

    monkeypatch.setattr(service.leave.api, "unit_today", lambda: day)
    monkeypatch.setattr(service.leave.web, "unit_today", lambda: day)


def ledger_rows(app, person_id: int, account: str = "annual"):
    from service.extensions import db
    from service.leave.models import LedgerEntryRow

    with app.app_context():
        rows = db.session.execute(select(LedgerEntryRow.year, LedgerEntryRow.kind, LedgerEntryRow.days,
                                         LedgerEntryRow.effective_on, LedgerEntryRow.request_id)
                                  .where(LedgerEntryRow.person_id == person_id, LedgerEntryRow.account == account)
                                  .order_by(LedgerEntryRow.id)).all()
        db.session.remove()
    return [tuple(r) for r in rows]
