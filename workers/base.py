"""The one wrapper every job runs through, and the worker class that preloads the app.

The worker process builds the Flask app once (no database connection is opened by that); each work
horse is a fork that first drops any pooled connection it inherited, so no connection crosses a
fork, then runs the job inside an app context.
"""
from __future__ import annotations

import functools
import os

import rq
from flask import current_app, has_app_context, has_request_context

_app = {"app": None, "pid": None}


def get_app():
    """The worker's app; built once per process tree, its engine pool reset after a fork."""
    from service import create_app
    from service.extensions import db

    if _app["app"] is None:
        _app["app"] = create_app()
        _app["pid"] = os.getpid()
    elif _app["pid"] != os.getpid():
        with _app["app"].app_context():
            # close=False: the parent's sockets stay the parent's; the child opens its own.
            db.engine.dispose(close=False)
        _app["pid"] = os.getpid()
    return _app["app"]


def app_job(func):
    """Run ``func`` inside the app (the current one when already inside, as in tests).

    Jobs get a request context on the public URL: email templates share the web app's template
    context (locale, labels) and build absolute links with url_for.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if has_request_context():
            return func(*args, **kwargs)
        inside_app = has_app_context()
        app = current_app._get_current_object() if inside_app else get_app()
        with app.test_request_context(base_url=app.config.get("PUBLIC_URL") or None):
            try:
                return func(*args, **kwargs)
            finally:
                if not inside_app:  # a worker's job: leave no session behind
                    from service.extensions import db

                    db.session.remove()

    return wrapper


def job_day(on: str | None):
    """The job's clock: an ISO date passed in (tests, catch-up runs) or the unit's today."""
    from datetime import date

    from service.clock import unit_today

    return date.fromisoformat(on) if on else unit_today()


class Worker(rq.Worker):
    """``rq worker -w workers.base.Worker``: preloads the app so each job starts fast."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        get_app()
