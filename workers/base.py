"""The one wrapper every job runs through, and the worker class that preloads the app.

The worker process builds the Flask app once (no database connection is opened by that); each work
horse is a fork that first drops any pooled connection it inherited, so no connection crosses a
fork, then runs the job inside an app context.
"""
from __future__ import annotations

import functools
import os

import rq
from flask import current_app, has_app_context

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
    """Run ``func`` inside an app context (the current one when already inside, as in tests)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if has_app_context():
            return func(*args, **kwargs)
        with get_app().app_context():
            from service.extensions import db

            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper


class Worker(rq.Worker):
    """``rq worker -w workers.base.Worker``: preloads the app so each job starts fast."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        get_app()
