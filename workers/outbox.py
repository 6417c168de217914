"""Outbox relay job: from cron every minute and enqueued right after a commit that wrote rows."""
from workers.base import app_job


@app_job
def relay_outbox(limit: int = 100) -> dict:
    """Send due outbox rows until none is left (bounded by ``limit`` per claim round)."""
    from service import outbox

    total = {"claimed": 0, "sent": 0, "failed": 0, "parked": 0}
    for _ in range(100):  # bounded: a job never runs forever
        counts = outbox.relay(limit)
        for key, value in counts.items():
            total[key] += value
        if counts["claimed"] < limit:
            break
    return total
