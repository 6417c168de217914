"""Queues, and enqueueing jobs from the web process."""
from __future__ import annotations

import logging

from flask import current_app
from rq import Queue, Retry

from service.redis_server import connect

log = logging.getLogger(__name__)

QUEUES = ("default",)


def queue(name: str = "default") -> Queue:
    return Queue(name, connection=connect(current_app))


def enqueue_relay() -> None:
    """Ask a worker to send the outbox now; cron sends it within a minute if Redis is down."""
    try:
        queue().enqueue("workers.outbox.relay_outbox", retry=Retry(max=3, interval=[10, 30, 60]),
                        job_timeout=600)
    except Exception:  # the outbox rows are committed; the cron relay will pick them up
        log.warning("could not enqueue the outbox relay", exc_info=True)
