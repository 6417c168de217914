"""Outbox relay job: from cron every minute and enqueued right after a commit that wrote rows.

Every relay that sends runs under RQ 3's ``RateLimit`` (``service.outbox.enqueue_relay_limited``):
a relay job enqueued without it (the cron entry, the after-commit hook) only hands off to a
rate-limited one, so no path opens more than ``MAIL_MAX_CONCURRENCY`` SMTP sessions at once.
"""
from workers.base import app_job


@app_job
def relay_outbox(limit: int = 100) -> dict:
    """Send due outbox rows until none is left (bounded by ``limit`` per claim round)."""
    from flask import current_app
    from rq import get_current_job

    from service import outbox

    job = get_current_job()
    if job is not None and not job.has_rate_limit:
        handed = outbox.enqueue_relay_limited(job.connection, current_app.config, limit)
        return {"handed_off": handed.id if handed else None}

    total = {"claimed": 0, "sent": 0, "failed": 0, "parked": 0, "handed_back": 0}
    for _ in range(100):  # bounded: a job never runs forever
        counts = outbox.relay(limit)
        for key, value in counts.items():
            total[key] += value
        if counts["claimed"] < limit:
            break
    else:
        if job is not None:  # more may be due: continue in a fresh job rather than wait for cron
            outbox.enqueue_relay_limited(job.connection, current_app.config, limit)
    return total
