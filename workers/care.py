"""Care jobs: birthday greetings, visit reminders, health-check slots and reminders.

Each is idempotent through outbox dedupe keys (one greeting per person per birthday year, one
reminder per task or appointment per day) or, for the slots, by passing the current plan back to
the solver as everyone's previous slot. ``on`` (ISO date) is the clock; the unit's today by default.
"""
from __future__ import annotations

from contextlib import contextmanager

from workers.base import app_job


def _day(on: str | None):
    from datetime import date

    from service.clock import unit_today

    return date.fromisoformat(on) if on else unit_today()


@contextmanager
def _mail_context():
    # Email templates use the web app's template context (labels, locale), which needs a request.
    from flask import current_app, has_request_context

    if has_request_context():
        yield
        return
    with current_app.test_request_context(base_url=current_app.config.get("PUBLIC_URL") or None):
        yield


@app_job
def send_birthday_greetings(on: str | None = None) -> dict:
    """Greet today's birthdays (or the coming non-working days') and note them to the leaders."""
    from service.care.greetings import greet_birthdays

    with _mail_context():
        return greet_birthdays(_day(on))


@app_job
def remind_visit_tasks(on: str | None = None) -> dict:
    """On working days: remind leaders of hospital visits due or overdue."""
    from service.care.visits import remind_visits

    with _mail_context():
        return remind_visits(_day(on))


@app_job
def remind_health_checks(on: str | None = None) -> dict:
    """On working days: the week-before and working-day-before reminders of clinic slots."""
    from service.care.campaigns import remind_health_checks as remind

    with _mail_context():
        return remind(_day(on))


@app_job
def assign_healthcheck_slots(campaign_id: int, on: str | None = None) -> dict:
    """Place everyone eligible in a campaign's clinic days (re-run: as few moves as possible)."""
    from service.care.campaigns import assign_campaign
    from service.care.models import HealthCheckCampaign
    from service.extensions import db

    campaign = db.session.get(HealthCheckCampaign, campaign_id)
    if campaign is None:
        return {"error": f"no campaign {campaign_id}"}
    with _mail_context():
        return assign_campaign(campaign, _day(on))
