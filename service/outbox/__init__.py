"""The outbox: side effects (emails) leave through rows written with the change that causes them.

Delivery is at-least-once with one bounded gap, and exactly-once in every other case:

* A row is written in the same transaction as its cause, with a unique ``dedupe_key``; writing the
  same key twice keeps the first row, so the same event never gives two emails.
* The relay claims rows with a conditional UPDATE (status and claim expiry in the WHERE clause, a
  fresh claim token in the SET), so two relays never send the same row at the same time.
* A relay that dies mid-send (SIGKILL, power loss) leaves its rows claimed; the claim expires after
  ``OUTBOX_CLAIM_SECONDS`` and another relay sends them.
* The unavoidable gap: if the relay dies after the SMTP server accepted a message and before the row
  is marked sent, the message is sent again when the claim expires. The window is one SMTP
  round-trip plus one UPDATE per message (each row is marked as soon as it is accepted), so the gap
  is bounded to at most one duplicate per crashed relay per claimed row; the duplicate carries the
  same Message-ID, which mail clients and most servers use to drop duplicates.
* A slow relay never outlives its claim: it stops sending once half of ``OUTBOX_CLAIM_SECONDS`` has
  passed (measured on its own monotonic clock) and hands the unsent rows back, so a claim that
  expires is always the claim of a dead relay, never of one still sending (clock skew between
  hosts up to half the claim time is harmless).
* Concurrent relays claim disjoint rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the
  writes are serialised and a relay that lost a race simply selects again).

SMTP concurrency is limited with RQ 3's own ``RateLimit`` (a concurrency limit per key: at most N
jobs with the key queued or running; the others wait in RQ's rate-limited set and are promoted when
a slot frees). Each relay job opens one SMTP session at a time, so at most ``MAIL_MAX_CONCURRENCY``
sessions are open at once across every worker. See ``enqueue_relay_limited``.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
import time
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from service.clock import now_utc
from service.extensions import db
from service.outbox.mailer import build_message, transport_for
from service.outbox.models import OutboxMessage

log = logging.getLogger(__name__)


def message_id_for(dedupe_key: str) -> str:
    """A stable Message-ID derived from the dedupe key: retries of one row carry the same ID."""
    domain = current_app.config.get("MAIL_FROM", "").rsplit("@", 1)[-1].strip(" >") or "talkcare.local"
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]}@{domain}>"


def render_email(template: str, language: str, **context) -> tuple[str, str, str]:
    """Subject, plain text and HTML of ``mail/<template>`` in the recipient's language."""
    with force_locale(language):
        return _render_here(template, context)


def _render_here(template: str, context: dict) -> tuple[str, str, str]:
    subject = render_template(f"mail/{template}.subject.txt", **context).strip()
    text = render_template(f"mail/{template}.txt", **context)
    html = render_template(f"mail/{template}.html", **context)
    return subject, text, html


def queue_emails(emails) -> int:
    """Add many emails to the current transaction's outbox in one statement per 500: ``emails`` is
    an iterable of (recipient, kind, template, dedupe_key, context). Returns how many rows were
    written (a used dedupe key keeps its first row, as in ``queue_email``)."""
    written = 0
    batch = []
    by_language: dict[str, list] = {}
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    for email in emails:
        if email[0].email:
            by_language.setdefault(email[0].language or default, []).append(email)
    for language, group in by_language.items():
        with force_locale(language):  # once per language, not per email: switching costs
            for recipient, kind, template, dedupe_key, context in group:
                batch.append(_row_values(recipient, language, kind, template, dedupe_key, context))
                if len(batch) >= 500:
                    written += _insert_rows(batch)
                    batch = []
    if batch:
        written += _insert_rows(batch)
    return written


def _row_values(recipient, language, kind, template, dedupe_key, context) -> dict:
    subject, text, html = _render_here(template, dict(context, recipient=recipient))
    now = now_utc()
    return dict(dedupe_key=dedupe_key, kind=kind, recipient_id=recipient.id, to_address=recipient.email,
                language=language, subject=subject[:300], body_text=text, body_html=html,
                message_id=message_id_for(dedupe_key), status="pending", attempts=0,
                next_attempt_at=now, created_at=now)


def _insert_rows(rows: list[dict]) -> int:
    """One INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING for all ``rows``."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxMessage.id))
    written = len(db.session.execute(stmt, rows).all())
    db.session.info["outbox_written"] = True
    return written


def queue_email(recipient, kind: str, template: str, dedupe_key: str, **context) -> bool:
    """Add an email for ``recipient`` (a Person) to the current transaction's outbox.

    Returns False when the recipient has no address or the dedupe key was already used (the first
    row wins). Nothing is sent until the transaction commits.
    """
    if not recipient.email:
        return False
    language = recipient.language or current_app.config["BABEL_DEFAULT_LOCALE"]
    subject, text, html = render_email(template, language, recipient=recipient, **context)
    values = dict(
        dedupe_key=dedupe_key, kind=kind, recipient_id=recipient.id, to_address=recipient.email,
        language=language, subject=subject[:300], body_text=text, body_html=html,
        message_id=message_id_for(dedupe_key), status="pending", attempts=0,
        next_attempt_at=now_utc(), created_at=now_utc(),
    )
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(OutboxMessage).values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OutboxMessage.id))
    # rowcount is not reliable for ORM-executed inserts; RETURNING tells whether a row was written.
    written = db.session.execute(stmt).first() is not None
    db.session.info["outbox_written"] = True
    return written


def claim(limit: int = 50) -> tuple[str, list[OutboxMessage]]:
    """Claim up to ``limit`` due rows for this relay; returns the claim token and the rows."""
    for _ in range(5):  # a relay that lost the race for the selected rows selects again
        now = now_utc()
        due = or_(
            and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
        )
        query = select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit)
        if db.session.get_bind().dialect.name == "postgresql":
            # Concurrent relays skip each other's rows instead of queueing on their locks.
            query = query.with_for_update(skip_locked=True)
        ids = db.session.scalars(query).all()
        if not ids:
            db.session.commit()
            return "", []
        token = secrets.token_hex(16)
        claim_for = timedelta(seconds=current_app.config["OUTBOX_CLAIM_SECONDS"])
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), due)
            .values(status="sending", claim_token=token, claimed_until=now + claim_for,
                    attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        rows = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.claim_token == token).order_by(OutboxMessage.id)
        ).all()
        if rows:
            return token, list(rows)
    return "", []


def relay(limit: int = 50) -> dict:
    """Send what is due: claim, send each, mark each at once. Returns counts for the job log."""
    token, rows = claim(limit)
    counts = {"claimed": len(rows), "sent": 0, "failed": 0, "parked": 0}
    if not rows:
        return counts
    config = current_app.config
    try:
        transport = transport_for(config).__enter__()
    except Exception as exc:  # server down: every claimed row fails this round
        for row in rows:
            _failed(row, token, exc, counts)
        return counts
    # Stop well before the claim expires: past that point another relay may take the rows.
    stop_at = time.monotonic() + config["OUTBOX_CLAIM_SECONDS"] / 2
    try:
        for index, row in enumerate(rows):
            if time.monotonic() > stop_at:
                counts["handed_back"] = _hand_back(rows[index:], token)
                break
            try:
                transport.send(build_message(row, config["MAIL_FROM"]))
            except Exception as exc:
                _failed(row, token, exc, counts)
                continue
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.claim_token == token)
                .values(status="sent", sent_at=now_utc(), claimed_until=None, last_error=None)
            )
            db.session.commit()
            counts["sent"] += 1
    finally:
        try:
            transport.__exit__(None, None, None)
        except Exception:  # the messages are already accepted; a failed QUIT changes nothing
            log.warning("closing the mail transport failed", exc_info=True)
    return counts


def _hand_back(rows, token) -> int:
    """Return claimed but unsent rows to the queue at once (the try did not happen)."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([r.id for r in rows]), OutboxMessage.claim_token == token,
               OutboxMessage.status == "sending")
        .values(status="pending", claimed_until=None, attempts=OutboxMessage.attempts - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


RELAY_RATE_KEY = "talkcare-smtp"


def enqueue_relay_limited(connection, config, limit: int = 100):
    """Enqueue the relay job under RQ's ``RateLimit`` (key ``talkcare-smtp``, concurrency
    ``MAIL_MAX_CONCURRENCY``); returns the job, or None when a relay is already waiting.

    A relay waiting for a slot has not started, so it will see every row committed before now:
    a second waiting job would only find nothing to send.
    """
    from rq import Queue, RateLimit
    from rq.rate_limit import RateLimitRegistry

    if RateLimitRegistry(RELAY_RATE_KEY, connection).get_rate_limited_job_count():
        return None
    return Queue("default", connection=connection).enqueue(
        "workers.outbox.relay_outbox", kwargs={"limit": limit}, job_timeout=600,
        rate_limit=RateLimit(RELAY_RATE_KEY, int(config["MAIL_MAX_CONCURRENCY"])))


def _failed(row, token, exc, counts) -> None:
    config = current_app.config
    attempts = row.attempts
    parked = attempts >= config["OUTBOX_MAX_ATTEMPTS"]
    backoff = config["OUTBOX_BACKOFF_SECONDS"] * (2 ** max(attempts - 1, 0))
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id, OutboxMessage.claim_token == token)
        .values(status="parked" if parked else "pending", claimed_until=None,
                next_attempt_at=now_utc() + timedelta(seconds=min(backoff, 6 * 3600)),
                last_error=f"{type(exc).__name__}: {exc}"[:2000])
    )
    db.session.commit()
    counts["parked" if parked else "failed"] += 1
    log.warning("outbox message %s failed (attempt %s): %s", row.id, attempts, exc)


def retry(message: OutboxMessage) -> None:
    """HR's retry of a parked message: back to pending, with a fresh attempt budget."""
    message.status = "pending"
    message.attempts = 0
    message.next_attempt_at = now_utc()
    message.claimed_until = None
    db.session.info["outbox_written"] = True
