"""Translated labels of the register's coded values, for pages and emails."""
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {"head": _l("Head"), "deputy": _l("Deputy head"), "chief": _l("Section chief"), "staff": _l("Staff")}
RELATION_LABELS = {"parent": _l("Parent"), "spouse": _l("Spouse"), "child": _l("Child"),
                   "parent_in_law": _l("Parent-in-law"), "sibling": _l("Sibling"), "other": _l("Other")}


def role_label(code: str) -> str:
    return str(ROLE_LABELS.get(code, code))


def relation_label(code: str) -> str:
    return str(RELATION_LABELS.get(code, code))
