"""Care jobs: birthday greetings, visit reminders, health-check slots and reminders.

Each is idempotent through outbox dedupe keys (one greeting per person per birthday year, one
reminder per task or appointment per day) or, for the slots, by passing the current plan back to
the solver as everyone's previous slot. ``on`` (ISO date) is the clock; the unit's today by default.
"""
from __future__ import annotations

from workers.base import app_job, job_day


@app_job
def send_birthday_greetings(on: str | None = None) -> dict:
    """Greet today's birthdays (or the coming non-working days') and note them to the leaders."""
    from service.care.greetings import greet_birthdays

    return greet_birthdays(job_day(on))


@app_job
def remind_visit_tasks(on: str | None = None) -> dict:
    """On working days: remind leaders of hospital visits due or overdue."""
    from service.care.visits import remind_visits

    return remind_visits(job_day(on))


@app_job
def remind_health_checks(on: str | None = None) -> dict:
    """On working days: the week-before and working-day-before reminders of clinic slots."""
    from service.care.campaigns import remind_health_checks as remind

    return remind(job_day(on))


@app_job
def assign_healthcheck_slots(campaign_id: int, on: str | None = None) -> dict:
    """Place everyone eligible in a campaign's clinic days (re-run: as few moves as possible)."""
    from service.care.campaigns import assign_campaign
    from service.care.models import HealthCheckCampaign
    from service.extensions import db

    campaign = db.session.get(HealthCheckCampaign, campaign_id)
    if campaign is None:
        return {"error": f"no campaign {campaign_id}"}
    return assign_campaign(campaign, job_day(on))


@app_job
def remind_life_event_tasks(on: str | None = None) -> dict:
    """On working days: remind leaders of life-event tasks (card, visit, condolences) due or overdue."""
    from service.care.events import remind_event_tasks

    return remind_event_tasks(job_day(on))
