"""The one module that decides every read and write.

An actor is a Person (web session or API token owner). Access roles: ``hr`` (HR administrators),
``leader`` (head, deputies, section chiefs), ``staff``. API tokens add a scope: a read-only token
can never write, whatever its owner may do.
"""
from __future__ import annotations

RESOURCES = ("section", "person", "person_private", "api_token", "audit", "outbox", "mail",
             # care (issue 5): settings, hospital cases, visit tasks, health-check campaigns, appointments
             "care_settings", "care_case", "visit_task", "healthcheck", "appointment",
             # care (issue 5, overtime): overtime records; the meals and rides they earn
             "overtime", "care_item",
             # leave (issue 4): calendar overrides, leave kinds and settings, requests, decisions, ledger
             "calendar", "leave_settings", "leave", "leave_decision", "leave_ledger", "leave_report",
             # rotation (issue 6): plans (HR plans, leaders read); a person's rotation history
             "rotation_plan", "rotation_history",
             # talks (issue 3): metadata, confidential content, sign-off, rules and kinds, triggers,
             # follow-ups, obligations and coverage
             "talk", "talk_content", "talk_signoff", "talk_rules", "talk_trigger", "talk_follow_up",
             "talk_obligations",
             # digest (issue 7): one's own weekly-email preferences; the unit's send day and hour;
             # one's own notices (the notification centre)
             "digest_preference", "digest_settings", "digest_notices")
ACTIONS = ("read", "write")

# role -> resource -> actions allowed on any object of that resource
_MATRIX = {
    "hr": {
        "section": {"read", "write"},
        "person": {"read", "write"},
        "person_private": {"read", "write"},
        "api_token": {"read", "write"},  # own tokens; HR may also revoke others' (see below)
        "audit": {"read"},
        "outbox": {"read", "write"},
        "mail": {"read"},
        # Leave: the calendar overrides and leave settings are HR's; see can() for object rules.
        "calendar": {"read", "write"},
        "leave_settings": {"read", "write"},
        "leave": {"read", "write"},
        "leave_decision": {"read", "write"},
        "leave_ledger": {"read", "write"},
        "leave_report": {"read"},
        "rotation_plan": {"read", "write"},
        "rotation_history": {"read"},
        # Talks: HR sees that talks happened and the coverage, never the content (see can()).
        "talk": {"read"},
        "talk_rules": {"read", "write"},
        "talk_trigger": {"read", "write"},
        "talk_follow_up": {"read"},
        "talk_obligations": {"read"},
        "digest_preference": {"read", "write"},
        "digest_settings": {"read", "write"},
        "digest_notices": {"read"},
    },
    "leader": {
        "section": {"read"},
        "person": {"read"},
        "rotation_plan": {"read"},
        "api_token": {"read", "write"},
        "calendar": {"read"},
        "leave_settings": {"read"},
        "leave": {"read"},
        "leave_decision": {"read"},
        "leave_ledger": {"read"},
        "leave_report": {"read"},
        "talk": {"read", "write"},
        "talk_rules": {"read"},
        "talk_trigger": {"read"},
        "talk_follow_up": {"read", "write"},
        "talk_obligations": {"read"},
        "digest_preference": {"read", "write"},
        "digest_settings": {"read"},
        "digest_notices": {"read"},
    },
    "staff": {
        "section": {"read"},
        "person": {"read"},
        "api_token": {"read", "write"},
        "calendar": {"read"},
        "leave_settings": {"read"},
        "leave": {"read"},
        "leave_ledger": {"read"},
        "talk": {"read"},
        "talk_rules": {"read"},
        "talk_follow_up": {"read"},
        "digest_preference": {"read", "write"},
        "digest_settings": {"read"},
        "digest_notices": {"read"},
    },
}


def can(actor, action: str, resource: str, obj=None, token_scope: str | None = None) -> bool:
    """May ``actor`` do ``action`` on ``resource`` (optionally a given object)?

    ``person_private`` covers fields that are not for everyone: email, birthday, relatives,
    work start date. A person may read their own; leaders read those of the people they lead.
    """
    if actor is None or action not in ACTIONS or resource not in RESOURCES:
        return False
    if token_scope == "read" and action == "write":
        return False
    role = actor.access_role
    allowed = _MATRIX.get(role, {}).get(resource, set())

    if resource == "api_token":
        # Everyone manages their own tokens; HR may list and revoke any.
        if obj is None or getattr(obj, "person_id", None) == actor.id:
            return action in allowed
        return role == "hr" and action in allowed
    if resource == "digest_notices":
        # Everyone reads their own notices (obj is the person), HR included: not other people's.
        return action in allowed and (obj is None or getattr(obj, "id", None) == actor.id)
    if resource == "digest_preference" and obj is not None:
        # Everyone's preferences are their own (obj is the person); HR does not choose for them.
        return getattr(obj, "id", None) == actor.id and action in allowed
    if resource in _CARE_RESOURCES:
        return _care_rule(actor, role, action, resource, obj)
    if resource in _TALK_OBJECT_RESOURCES and obj is not None:
        return _talk_rule(actor, action, resource, obj)
    if resource == "rotation_history" and action == "read" and role != "hr":
        # Anyone reads their own rotations; a leader those of the people they lead.
        return obj is not None and (getattr(obj, "id", None) == actor.id
                                    or (role == "leader" and leads(actor, obj)))
    if resource == "person_private":
        if action in allowed:
            return True
        if obj is None:
            return False
        if action == "read" and getattr(obj, "id", None) == actor.id:
            return True
        if action == "read" and role == "leader":
            return leads(actor, obj)
        return False
    if resource in ("leave", "leave_ledger") and obj is not None and role != "hr":
        # obj is the person whose leave it is: one's own (request, cancel; ledger read only),
        # and leaders read the leave of the people they lead.
        if getattr(obj, "id", None) == actor.id:
            return action == "read" or resource == "leave"
        return action == "read" and role == "leader" and leads(actor, obj)
    if resource == "leave_decision" and obj is not None and role != "hr":
        # obj is a leave request: its current approver decides; the requester reads.
        if action == "write":
            return getattr(obj, "current_approver_id", None) == actor.id
        return actor.id in (getattr(obj, "person_id", None), *(getattr(obj, "approver_ids", None) or []))
    return action in allowed


def leads(leader, person) -> bool:
    """Whether ``leader`` is currently in a line above ``person`` (head, deputy in charge, chief)."""
    if leader.id == person.id or not leader.active:
        return False
    if leader.role == "head":
        return True
    if leader.role == "chief":
        return leader.section_id is not None and leader.section_id == person.section_id
    if leader.role == "deputy":
        return person.section_id in {o.section_id for o in leader.oversights if o.valid_to is None}
    return False


_CARE_RESOURCES = ("care_settings", "care_case", "visit_task", "healthcheck", "appointment", "overtime",
                   "care_item")


def _care_rule(actor, role: str, action: str, resource: str, obj) -> bool:
    """Care: HR runs it; a leader reports and sees cases of the people they lead and closes their
    own visit tasks; anyone reports their own hospital stay and sees their own appointment.
    ``obj`` is the person concerned for care_case and appointment, the task for visit_task.
    Life events are care cases too (kinds are care settings, their tasks visit tasks).
    Overtime (``obj`` the person): one's own, and the people one leads, are read and written
    (logged, edited, confirmed); HR reads all. Care items (``obj`` the person): HR marks them
    provided; the person and their leaders read them."""
    if resource == "overtime":
        if obj is None:
            return action == "read"
        if getattr(obj, "id", None) == actor.id or leads(actor, obj):
            return True
        return role == "hr" and action == "read"
    if resource == "care_item":
        if role == "hr":
            return True
        if action == "write":
            return False
        return obj is None or getattr(obj, "id", None) == actor.id or leads(actor, obj)
    if role == "hr":
        # The leader closes a visit; HR sees every task but does not close them for leaders.
        if resource == "visit_task" and action == "write":
            return obj is not None and getattr(obj, "leader_id", None) == actor.id
        return True
    if resource in ("care_settings", "healthcheck"):
        return action == "read"
    if resource == "visit_task":
        return obj is None and action == "read" or getattr(obj, "leader_id", None) == actor.id
    if obj is None:
        return action == "read"  # lists are filtered to what the actor may see
    if getattr(obj, "id", None) == actor.id:
        return True
    return resource == "care_case" and role == "leader" and leads(actor, obj)


_TALK_OBJECT_RESOURCES = ("talk", "talk_content", "talk_signoff", "talk_follow_up")


def _talk_rule(actor, action: str, resource: str, obj) -> bool:
    """Talks, object by object (``obj`` is the talk, or the follow-up for talk_follow_up).

    Content (outline, content, views, attitude, attachments, versions) is for the talkers, the
    recorder and the talked-to persons only, plus the people a unit setting names as its
    discipline-inspection role (``obj.discipline_reader_ids``, set by the caller); never for HR or
    other leaders as such. That a talk happened (metadata) is for its participants, HR and the
    leaders of a talked-to person. Talkers and the recorder edit; the talked-to sign.
    """
    if resource == "talk_follow_up":
        talk = obj.talk
        if action == "write":
            return obj.owner_id == actor.id or actor.id in talk.ids("talker") + talk.ids("recorder")
        return (obj.owner_id == actor.id or _talk_rule(actor, "read", "talk", talk))
    editors = set(obj.ids("talker")) | set(obj.ids("recorder"))
    talked_to = set(obj.ids("talked_to"))
    if resource == "talk_signoff":
        return action == "write" and actor.id in talked_to
    if resource == "talk_content":
        if action == "write":
            return actor.id in editors
        return actor.id in editors | talked_to or actor.id in (getattr(obj, "discipline_reader_ids", None) or ())
    # talk metadata
    if action == "write":
        return actor.id in editors
    discipline = actor.id in (getattr(obj, "discipline_reader_ids", None) or ())
    if actor.id in editors | talked_to | set(obj.ids("present")) or actor.access_role == "hr" or discipline:
        return True
    return actor.access_role == "leader" and any(leads(actor, p) for p in obj.people("talked_to"))
