"""Recording a talk: create, edit (a new version after sign-off), sign off, attach, follow up.

Shared by the API and the web form. Each function checks what the schema or form cannot (people
exist, kinds are known, the actor takes part) and raises ``TalkError`` naming the field; the caller
rolls back, so a rejected request changes nothing.
"""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _

from sqlalchemy import select

from service import audit
from service.clock import now_utc
from service.errors import DomainError
from service.extensions import as_loaded, db
from service.inserts import RowInsert, positional
from service.people.models import Person
from service.people.snapshots import load_people
from service.talks.loading import kind_known, talk_settings
from service.talks.models import (
    CONTENT_FIELDS, FollowUp, Talk, TalkAttachment, TalkParticipant, TalkSignoff, TalkVersion,
)
from service.talks.pairs import insert_pairs, new_pairs

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
# Type by content, never by name: the file's first bytes.
MAGIC = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
META_FIELDS = ("kind", "status", "held_at", "duration_minutes", "place", "topic", "collective")
ROLE_FIELDS = {"talker": "talker_ids", "talked_to": "talked_to_ids", "recorder": "recorder_id",
               "present": "present_ids"}


class TalkError(DomainError):
    def __init__(self, field: str, message: str, status: int = 422):
        # An upload's refusals name the multipart field ``file``: reported under ``files``.
        super().__init__(message, status=status, field=field, location="files" if field == "file" else "json")


def content_readers(talk: Talk) -> Talk:
    """Mark the talk with the unit's discipline-inspection readers, for ``can()``."""
    talk.discipline_reader_ids = list(talk_settings().discipline_reader_ids or [])
    return talk


def _named_ids(data: dict) -> list[int]:
    """Every person id a record's data names (roles and follow-up owners), for one query."""
    ids = []
    for field in ROLE_FIELDS.values():
        value = data.get(field)
        if value is not None:
            ids.extend([value] if isinstance(value, int) else value)
    ids.extend(item.get("owner_id") for item in data.get("follow_ups") or ())
    return ids


def _load_people(ids, attach: bool = True) -> dict[int, Person]:
    """The people with these ids: from the session or this process's snapshot, else one query."""
    ids = sorted({i for i in ids if isinstance(i, int)})
    if not ids:
        return {}
    return load_people(ids, attach)


def _people(ids, field: str, known: dict[int, Person]) -> list[Person]:
    found = []
    for pid in dict.fromkeys(ids):
        person = known.get(pid) or db.session.get(Person, pid)
        if person is None:
            raise TalkError(field, _("No person with id %(id)s.", id=pid))
        if not person.active:
            raise TalkError(field, _("%(name)s has left the unit.", name=person.name))
        found.append(person)
    return found


def _check(data: dict, actor, today: date, talk: Talk | None = None,
           attach: bool = True) -> dict[str, list[Person]]:
    """The participants by role, after the checks the schema cannot make."""
    get = lambda name, default=None: data.get(name, getattr(talk, name, default) if talk else default)  # noqa: E731
    kind = get("kind")
    if kind is not None and ("kind" in data or talk is None) and not kind_known(kind):
        raise TalkError("kind", _("Unknown talk kind %(kind)s.", kind=kind))
    known = _load_people(_named_ids(data), attach)
    roles = {}
    for role, field in ROLE_FIELDS.items():
        if field in data:
            value = data[field]
            ids = [] if value is None else ([value] if isinstance(value, int) else value)
            roles[role] = _people(ids, field, known)
        else:
            roles[role] = talk.people(role) if talk else []
    if not roles["talker"]:
        raise TalkError("talker_ids", _("Name at least one talker."))
    if not roles["talked_to"]:
        raise TalkError("talked_to_ids", _("Name at least one person talked to."))
    talker_ids = {p.id for p in roles["talker"]}
    if talker_ids & {p.id for p in roles["talked_to"]}:
        raise TalkError("talked_to_ids", _("A talker cannot also be talked to in the same talk."))
    collective = get("collective", False)
    if len(roles["talked_to"]) > 1 and not collective:
        raise TalkError("talked_to_ids", _("An individual talk has one person talked to; mark it collective for more."))
    if actor.id not in talker_ids | {p.id for p in roles["recorder"]}:
        raise TalkError("talker_ids", _("You can only record a talk you held or recorded."), 403)
    held_at = get("held_at")
    status = get("status", "held")
    if held_at is not None and status == "held" and held_at.date() > today:
        raise TalkError("held_at", _("A held talk cannot be in the future; schedule it instead."))
    return roles


def _set_participants(talk: Talk, roles: dict[str, list[Person]]) -> None:
    wanted = {(p.id, role) for role, people in roles.items() for p in people}
    for part in list(talk.participants):
        if (part.person_id, part.role) not in wanted:
            talk.participants.remove(part)
    have = {(p.person_id, p.role) for p in talk.participants}
    for role, people in roles.items():
        for p in people:
            if (p.id, role) not in have:
                talk.participants.append(TalkParticipant(person_id=p.id, role=role, person=p))


def _add_follow_ups(talk: Talk, items: list[dict]) -> None:
    participants = {p.person_id for p in talk.participants}
    for i, item in enumerate(items):
        owner = db.session.get(Person, item["owner_id"])  # loaded by _check: no query
        if owner is None or not owner.active:
            raise TalkError(f"follow_ups.{i}.owner_id", _("No active person with id %(id)s.", id=item["owner_id"]))
        if owner.id not in participants:
            raise TalkError(f"follow_ups.{i}.owner_id", _("The owner must take part in the talk."))
        talk.follow_ups.append(FollowUp(owner_id=owner.id, owner=owner, description=item["description"],
                                        due_on=item["due_on"]))


def _checked_follow_ups(roles: dict[str, list[Person]], items: list[dict]) -> dict[int, Person]:
    """The owners of a new talk's follow-up items by id, after checking each takes part (before
    anything is written)."""
    participants = {p.id: p for people in roles.values() for p in people}
    for i, item in enumerate(items):
        owner = participants.get(item["owner_id"]) or db.session.get(Person, item["owner_id"])
        if owner is None or not owner.active:
            raise TalkError(f"follow_ups.{i}.owner_id", _("No active person with id %(id)s.", id=item["owner_id"]))
        if owner.id not in participants:
            raise TalkError(f"follow_ups.{i}.owner_id", _("The owner must take part in the talk."))
    return participants


_TALK_INSERT = RowInsert(Talk.__table__, (
    "kind", "status", "held_at", "held_on", "duration_minutes", "place", "topic", "collective", "version",
    "created_by_id", "created_at", "updated_at"), returning=("id",))
_PARTICIPANT_INSERT = RowInsert(TalkParticipant.__table__, ("talk_id", "person_id", "role"),
                                returning=("id", "person_id", "role"))
_VERSION_INSERT = RowInsert(TalkVersion.__table__, (
    "talk_id", "number", "edited_by_id", "created_at", *CONTENT_FIELDS), returning=("id",))
_FOLLOW_UP_INSERT = RowInsert(FollowUp.__table__, (
    "talk_id", "owner_id", "description", "due_on", "done_on", "created_at"), returning=("id",))


def _write_each(connection, values, part_rows, pairs, version_row, follow_rows):
    """The new talk's rows, a statement per table: (talk id, {(person, role): participant id},
    version id, follow-up ids in order). The rows get the talk's id."""
    talk_id = _TALK_INSERT.one(connection, values)[0]
    for row in (*part_rows, version_row, *follow_rows):
        row["talk_id"] = talk_id
    # One statement; RETURNING's order is not promised, so each id is matched back by (person,
    # role), unique within a talk (``_check`` drops repeats in a role).
    part_id = {(person_id, role): i for i, person_id, role in _PARTICIPANT_INSERT.together(connection, part_rows)}
    insert_pairs(connection, talk_id, values["held_on"], values["kind"], pairs)
    version_id = _VERSION_INSERT.one(connection, version_row)[0]
    follow_ids = [r[0] for r in _FOLLOW_UP_INSERT.many(connection, follow_rows)]
    return talk_id, part_id, version_id, follow_ids


# PostgreSQL: the same rows in one statement (data-modifying CTEs). Each statement costs ~0.1-0.2 ms
# of psycopg in the web worker plus a round trip; this is one instead of five.
# tests/test_talks_create_paths.py checks it writes what ``_write_each`` writes.
WRITE_IN_ONE = True
_PG_CREATE, _PG_CREATE_PARAMS = positional("""
WITH t AS (
    INSERT INTO talk (kind, status, held_at, held_on, duration_minutes, place, topic, collective, version,
                      created_by_id, created_at, updated_at)
    VALUES (%(kind)s, %(status)s, %(held_at)s, %(held_on)s, %(duration_minutes)s, %(place)s, %(topic)s,
            %(collective)s, %(version)s, %(created_by_id)s, %(created_at)s, %(updated_at)s)
    RETURNING id
), p AS (
    INSERT INTO talk_participant (talk_id, person_id, role)
    SELECT t.id, x.person_id, x.role FROM t, unnest(%(p_person)s::integer[], %(p_role)s::text[]) AS x(person_id, role)
    RETURNING id, person_id, role
), pr AS (
    INSERT INTO talk_pair (talk_id, talker_id, talked_to_id, held_on, kind, is_group)
    SELECT t.id, x.talker_id, x.talked_to_id, %(held_on)s, %(kind)s, %(is_group)s
    FROM t, unnest(%(pr_talker)s::integer[], %(pr_talked)s::integer[]) AS x(talker_id, talked_to_id)
), v AS (
    INSERT INTO talk_version (talk_id, number, edited_by_id, created_at, outline, content, views, attitude,
                              follow_up_text)
    SELECT t.id, 1, %(v_editor)s, %(created_at)s, %(outline)s, %(content)s, %(views)s, %(attitude)s,
           %(follow_up_text)s FROM t
    RETURNING id
), f AS (
    INSERT INTO talk_follow_up (talk_id, owner_id, description, due_on, done_on, created_at)
    SELECT t.id, x.owner_id, x.description, x.due_on, NULL, %(created_at)s
    FROM t, unnest(%(f_owner)s::integer[], %(f_description)s::text[], %(f_due)s::date[])
         WITH ORDINALITY AS x(owner_id, description, due_on, n)
    ORDER BY x.n
    RETURNING id
)
SELECT t.id, (SELECT id FROM v), ARRAY(SELECT id FROM f ORDER BY id),
       (SELECT json_agg(json_build_array(id, person_id, role)) FROM p)
FROM t
""")


def _write_in_one(connection, values, part_rows, pairs, version_row, follow_rows):
    """``_write_each`` in one statement (PostgreSQL); the rows get the talk's id too. Follow-up
    ids are taken in the order the rows were inserted (the ORDER BY of their SELECT draws the
    serial ids in that order)."""
    is_group, pair_list = pairs
    params = {**values, **{f: version_row[f] for f in CONTENT_FIELDS}, "v_editor": version_row["edited_by_id"],
              "p_person": [r["person_id"] for r in part_rows], "p_role": [r["role"] for r in part_rows],
              "is_group": is_group, "pr_talker": [t for t, _ in pair_list], "pr_talked": [p for _, p in pair_list],
              "f_owner": [r["owner_id"] for r in follow_rows], "f_description": [r["description"] for r in follow_rows],
              "f_due": [r["due_on"] for r in follow_rows]}
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(_PG_CREATE, tuple(params[name] for name in _PG_CREATE_PARAMS))
        talk_id, version_id, follow_ids, parts = cursor.fetchone()
    finally:
        cursor.close()
    for row in (*part_rows, version_row, *follow_rows):
        row["talk_id"] = talk_id
    return talk_id, {(person_id, role): i for i, person_id, role in parts}, version_id, list(follow_ids)


def create_talk(data: dict, actor, today: date, attach: bool = True) -> Talk:
    """Record a new talk: checks first (a rejected request writes nothing), then its rows on the
    driver's cursor, in the session's transaction: one statement on PostgreSQL (``_write_in_one``),
    a statement per table on SQLite (``_write_each``, ``service.inserts``).

    The returned talk, with its participants, version and follow-ups, is built as if just loaded,
    so the caller reads it (the API's answer, the web form's attachment) without another query.
    ``attach=True`` puts it (and the people it names) in the session, for a caller that goes on to
    change it; the API's answer only reads it and leaves it out (adding the objects cost more than
    writing the rows).
    """
    roles = _check(data, actor, today, attach=attach)
    owners = _checked_follow_ups(roles, data.get("follow_ups") or [])
    # Read before the first INSERT: on SQLite the write lock is held from there to the commit.
    settings = talk_settings()
    now = now_utc()
    held_at: datetime = data["held_at"].replace(second=0, microsecond=0, tzinfo=None)
    values = dict(kind=data["kind"], status=data.get("status", "held"), held_at=held_at, held_on=held_at.date(),
                  duration_minutes=data["duration_minutes"], place=data["place"], topic=data["topic"],
                  collective=data.get("collective", False), version=1, created_by_id=actor.id,
                  created_at=now, updated_at=now)
    part_rows = [{"talk_id": None, "person_id": p.id, "role": role}
                 for role, people in roles.items() for p in people]
    people = [p for ps in roles.values() for p in ps]
    version_row = {"talk_id": None, "number": 1, "edited_by_id": actor.id, "created_at": now,
                   **{f: data.get(f) or "" for f in CONTENT_FIELDS}}
    follow_rows = [{"talk_id": None, "owner_id": item["owner_id"], "description": item["description"],
                    "due_on": item["due_on"], "done_on": None, "created_at": now}
                   for item in data.get("follow_ups") or ()]
    pairs = (new_pairs(values["collective"], [p.id for p in roles["talker"]], [p.id for p in roles["talked_to"]])
             if values["status"] == "held" else (False, []))  # the cadence core's copy (service/talks/pairs.py)
    connection = db.session.connection()
    write = _write_in_one if connection.dialect.name == "postgresql" and WRITE_IN_ONE else _write_each
    talk_id, part_id, version_id, follow_ids = write(connection, values, part_rows, pairs, version_row, follow_rows)
    part_ids = [part_id[(row["person_id"], row["role"])] for row in part_rows]
    participants = [as_loaded(TalkParticipant, {"id": i, **row}, attach, person=p)
                    for i, p, row in zip(part_ids, people, part_rows)]
    follow_ups = [as_loaded(FollowUp, {"id": i, **row}, attach, owner=owners[row["owner_id"]])
                  for i, row in zip(follow_ids, follow_rows)]
    # A new talk has none of these: say so, or reading them queries for them.
    talk = as_loaded(Talk, {"id": talk_id, **values}, attach, participants=participants, follow_ups=follow_ups,
                     versions=[as_loaded(TalkVersion, {"id": version_id, **version_row}, attach)],
                     signoffs=[], attachments=[])
    if attach:
        db.session.add(talk)
    # The identity map holds rows weakly: keep the settings alive for content_readers() (no second query).
    talk.settings_row = settings
    content_readers(talk)
    audit.record("create", "talk", talk_id, {"kind": [None, talk.kind], "held_on": [None, str(talk.held_on)]})
    return talk


def update_talk(talk: Talk, data: dict, actor, today: date) -> bool:
    """Apply an edit. Returns True when it started a new version (the old one was signed)."""
    roles = _check(data, actor, today, talk)
    before = {f: getattr(talk, f) for f in META_FIELDS}
    if "held_at" in data:
        data["held_at"] = data["held_at"].replace(second=0, microsecond=0, tzinfo=None)
    for f in META_FIELDS:
        if f in data:
            setattr(talk, f, data[f])
    talk.held_on = talk.held_at.date()
    _set_participants(talk, roles)
    current = talk.current
    new_content = {f: data[f] or "" for f in CONTENT_FIELDS if f in data}
    new_version = bool(talk.signed_by())  # any sign-off of this version: the signed record stays as it was
    if new_version:
        talk.version += 1
        values = {**current.content_dict(), **new_content}
        talk.versions.append(TalkVersion(number=talk.version, edited_by_id=actor.id, **values))
    else:
        for f, v in new_content.items():
            setattr(current, f, v)
        current.edited_by_id = actor.id
    _add_follow_ups(talk, data.get("follow_ups") or [])
    changes = audit.diff(before, {f: getattr(talk, f) for f in META_FIELDS})
    if new_content:
        changes["content"] = ["(confidential)", "(confidential)"]  # never content in the audit log
    audit.record("update", "talk", talk.id, changes)
    return new_version


def sign_talk(talk: Talk, actor) -> TalkSignoff:
    if talk.status != "held":
        raise TalkError("status", _("A scheduled talk cannot be signed before it is held."), 409)
    if actor.id in talk.signed_by():
        raise TalkError("version", _("You have already signed this version."), 409)
    sign = TalkSignoff(talk_id=talk.id, version_number=talk.version, person_id=actor.id)
    talk.signoffs.append(sign)
    audit.record("sign", "talk", talk.id, {"version": [None, talk.version]})
    return sign


def sniff(data: bytes) -> str | None:
    for magic, content_type in MAGIC:
        if data.startswith(magic):
            return content_type
    return None


def attach(talk: Talk, filename: str, data: bytes, actor) -> TalkAttachment:
    if not data:
        raise TalkError("file", _("The file is empty."), 400)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise TalkError("file", _("The file is larger than %(mb)d MB.", mb=MAX_ATTACHMENT_BYTES // (1024 * 1024)), 413)
    content_type = sniff(data)
    if content_type is None:
        raise TalkError("file", _("Only PDF, JPEG and PNG files are accepted (checked by content)."), 415)
    name = "".join(ch for ch in (filename or "attachment") if ch.isprintable() and ch not in '/\\"')[-200:]
    row = TalkAttachment(talk_id=talk.id, filename=name or "attachment", content_type=content_type,
                         size=len(data), data=data, uploaded_by_id=actor.id)
    talk.attachments.append(row)
    db.session.flush()
    audit.record("attach", "talk", talk.id, {"attachment": [None, row.id]})
    return row


def follow_ups_of(owner_id: int | None = None, talker_id: int | None = None):
    stmt = select(FollowUp).order_by(FollowUp.done_on.is_not(None), FollowUp.due_on, FollowUp.id)
    if owner_id is not None:
        stmt = stmt.where(FollowUp.owner_id == owner_id)
    return stmt
