"""Register jobs: bring each person's current section/post/role in line with dated postings."""
from workers.base import app_job


@app_job
def apply_postings(on: str | None = None) -> int:
    """Apply postings that took effect (or ended) by ``on`` (ISO date; default the unit's today)."""
    from datetime import date

    from service.clock import unit_today
    from service.people.register import sync_current_postings

    day = date.fromisoformat(on) if on else unit_today()
    return sync_current_postings(day)
