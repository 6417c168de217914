"""Per-process caches that every process drops at once: a generation token per kind of data in Redis.

A cache entry remembers the generation it was read under and is used only while Redis holds the
same token. Whatever changes the data (through the ORM, in any process: gunicorn workers, RQ
workers, the CLI) gives its kind a new random token right after its commit, so every process
re-reads it on its next request. Tokens are random, not counters: after a Redis flush (or the
first use) a new token is set, so an old entry can never match again.

A request (or a job, a CLI command: one app context) reads all generations with one MGET, the
first time it needs one, and keeps them for its duration: it sees one consistent state of the
caches, and its own changes (``bump`` updates it). If Redis cannot be reached the
caches are bypassed: every read goes to the database, as without them.
"""
from __future__ import annotations

import logging
import secrets
import time
from itertools import chain

import redis
from flask import current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

KEY = "talkcare:generation:{}"
NAMES = ("people", "talk_config")
# A backstop only (a bump lost to a Redis failure at the wrong moment): entries expire anyway.
MAX_AGE_SECONDS = 300.0
MAX_ENTRIES = 20_000  # at most some tens of MB: people, tokens, the talk configuration

_watched: dict[type, str] = {}
log = logging.getLogger(__name__)


def _redis():
    from service.redis_server import connect

    return connect(current_app)


def _read_all() -> dict[str, str | None]:
    keys = [KEY.format(n) for n in NAMES]
    try:
        conn = _redis()
        values = conn.mget(keys)
        if None in values:  # first use, or Redis was flushed: a fresh token invalidates every old entry
            pipe = conn.pipeline()
            for key, value in zip(keys, values):
                if value is None:
                    pipe.set(key, secrets.token_hex(8), nx=True)
            pipe.mget(keys)
            values = pipe.execute()[-1]
    except redis.RedisError:
        log.warning("generation tokens unreadable: caches bypassed", exc_info=True)
        values = [None] * len(keys)
    return dict(zip(NAMES, values))


def current(name: str) -> str | None:
    """The generation token of ``name`` (``None``: Redis unreachable, do not use the cache)."""
    if has_app_context():  # a request, or one job / CLI command (each runs in its own app context)
        memo = g.get("_generations")
        if memo is None:
            memo = g._generations = _read_all()
        return memo[name]
    return _read_all()[name]


def bump(name: str) -> None:
    """A new generation for ``name``: every process's entries of that kind are stale from now on."""
    token = secrets.token_hex(8)
    try:
        _redis().set(KEY.format(name), token)
    except redis.RedisError:
        log.error("could not bump generation %s: caches may serve it for up to %.0f s", name,
                  MAX_AGE_SECONDS, exc_info=True)
        token = None
    _store(current_app).clear_kind(name)  # this process at once, whatever Redis said
    if g.get("_generations") is not None:
        g._generations[name] = token


class ProcessCache:
    """Entries ``(kind, key) -> value`` tagged with the generation they were read under."""

    def __init__(self):
        self._entries: dict[tuple, tuple[str, float, object]] = {}

    def get(self, kind: str, key):
        gen = current(kind)
        hit = self._entries.get((kind, key))
        if gen is None or hit is None or hit[0] != gen or hit[1] < time.monotonic():
            return None
        return hit[2]

    def put(self, kind: str, key, value) -> None:
        gen = current(kind)
        if gen is None:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[(kind, key)] = (gen, time.monotonic() + MAX_AGE_SECONDS, value)

    def clear_kind(self, kind: str) -> None:
        for k in [k for k in list(self._entries) if k[0] == kind]:
            self._entries.pop(k, None)


def _store(app) -> ProcessCache:
    cache = app.extensions.get("talkcare_process_cache")
    if cache is None:
        cache = app.extensions["talkcare_process_cache"] = ProcessCache()
    return cache


def cache() -> ProcessCache:
    """This app's (this process's) cache."""
    return _store(current_app)


def watch(model: type, name: str) -> None:
    """Bump generation ``name`` after any commit that inserted, changed or deleted a ``model`` row
    through the ORM (Core statements on those tables must call ``bump`` themselves)."""
    _watched[model] = name


def pending(session, name: str) -> bool:
    """Whether this transaction changes data of ``name`` (then its caches must not be used)."""
    if name in session.info.get("generations_to_bump", ()):
        return True
    return any(_watched.get(type(o)) == name for o in chain(session.new, session.dirty, session.deleted))


@event.listens_for(Session, "after_flush")
def _note_changes(session, _context) -> None:
    for obj in chain(session.new, session.dirty, session.deleted):
        name = _watched.get(type(obj))
        if name is not None:
            session.info.setdefault("generations_to_bump", set()).add(name)


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session) -> None:
    names = session.info.pop("generations_to_bump", None)
    if names and has_app_context():
        for name in names:
            bump(name)


@event.listens_for(Session, "after_rollback")
def _forget_changes(session) -> None:
    session.info.pop("generations_to_bump", None)
