"""Talk jobs: the morning reminders (due-soon and overdue talks, overdue follow-up items).

Idempotent through outbox dedupe keys: one reminder per obligation per stage, one per item.
``on`` (ISO date) is the clock; the unit's today by default.
"""
from __future__ import annotations

from workers.base import app_job


@app_job
def send_talk_reminders(on: str | None = None) -> dict:
    """On working days: remind leaders of talks due soon or overdue, and owners of overdue items."""
    from datetime import date

    from flask import current_app, has_request_context

    from service.clock import unit_today
    from service.talks.reminders import send_talk_reminders as send

    day = date.fromisoformat(on) if on else unit_today()
    if has_request_context():
        return send(day)
    # Email templates use the web app's template context (labels, locale), which needs a request.
    with current_app.test_request_context(base_url=current_app.config.get("PUBLIC_URL") or None):
        return send(day)


@app_job
def send_red_letter_report(on: str | None = None) -> dict:
    """Monthly: the red-letter report (通报) to HR and the head, from the month's first working day."""
    from datetime import date

    from service.clock import unit_today
    from service.talks.red_letter import send_red_letter

    return send_red_letter(date.fromisoformat(on) if on else unit_today())
