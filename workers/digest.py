"""Digest job: the weekly schedule email, run hourly; it acts only on the send day at or after the
send hour, and the outbox's dedupe keys (one per person per ISO week) make every re-run harmless.

``on`` (ISO date) is the clock, with ``hour`` (0-23); ``on`` without ``hour`` is a deliberate
catch-up run for that day. By default, the unit's today and current hour.
"""
from __future__ import annotations

from workers.base import app_job, job_day


@app_job
def send_weekly_digests(on: str | None = None, hour: int | None = None) -> dict:
    """Queue each person's weekly email for this ISO week (once)."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    from service.clock import now_utc
    from service.digest.sending import send_weekly_digests as send

    if on is None and hour is None:
        hour = now_utc().astimezone(ZoneInfo(current_app.config.get("TALKCARE_TIMEZONE", "Asia/Shanghai"))).hour
    return send(job_day(on), hour)
