"""The one module that decides every read and write.

An actor is a Person (web session or API token owner). Access roles: ``hr`` (HR administrators),
``leader`` (head, deputies, section chiefs), ``staff``. API tokens add a scope: a read-only token
can never write, whatever its owner may do.
"""
from __future__ import annotations

RESOURCES = ("section", "person", "person_private", "api_token", "audit", "outbox", "mail")
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
    },
    "leader": {
        "section": {"read"},
        "person": {"read"},
        "api_token": {"read", "write"},
    },
    "staff": {
        "section": {"read"},
        "person": {"read"},
        "api_token": {"read", "write"},
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
