"""The solver's codes in words (zh-CN / en through Flask-Babel), for pages, API and mail."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l

RULES = {
    "exempt": _l("exempt from rotation"),
    "on_leave": _l("on approved leave"),
    "new_joiner": _l("joined too recently"),
    "pinned_elsewhere": _l("pinned to another month"),
    "forbidden": _l("forbidden by HR"),
    "no_allowed_host": _l("no host left (all visited, avoided or forbidden)"),
    "own_section": _l("own section"),
    "host_closed": _l("host not participating"),
    "same_host_twice": _l("would visit the same host twice"),
    "avoidance": _l("avoidance: a relative leads the host"),
    "not_participating": _l("section not participating"),
    "base_staff": _l("section at its minimum base staff"),
    "no_eligible": _l("nobody eligible"),
    "host_capacity": _l("hosts full this month"),
    "fairness": _l("fairness order"),
    "sends_per_month": _l("sends more than allowed"),
    "twice_in_month": _l("posted twice in a month"),
    "unknown_person": _l("no longer a candidate of the section (left or moved)"),
    "unknown_month": _l("month outside the plan"),
    "wrong_section": _l("moved to another section"),
    "pin_invalid": _l("a pin breaks a rule"),
    "posted_this_month": _l("posted this month"),
    "higher_rotation_count": _l("rotated more often"),
    "tenure_order": _l("long-tenure colleagues first"),
    "posted_other_month": _l("posted in another month"),
    "less_suitable": _l("same turn, but costlier for this host"),
    "register_changed": _l("the register was corrected over the posting"),
}


def rule_text(code: str) -> str:
    return str(RULES.get(code, code))


def reason_text(reason: dict, sections: dict) -> str:
    """One blocking reason: which rule blocks which section in which month."""
    section = sections.get(reason.get("section_id"))
    name = section.name if section is not None else "—"
    detail = reason.get("detail") or {}
    rule = detail.get("rule") if reason.get("rule") == "pin_invalid" else None
    text = _("%(section)s, %(month)s: %(rule)s", section=name, month=reason.get("month") or "—",
             rule=rule_text(reason.get("rule")))
    return text + (f" ({rule_text(rule)})" if rule else "")


def posting_why(explanation: dict) -> list[str]:
    """Why this person and why this host, in sentences."""
    person, host = explanation.get("person") or {}, explanation.get("host") or {}
    lines = []
    if person:
        if person.get("never_rotated"):
            lines.append(_("Has never rotated."))
        else:
            lines.append(ngettext("Rotated %(num)d time; last %(m)s months ago.",
                                  "Rotated %(num)d times; last %(m)s months ago.",
                                  int(person.get("rotation_count", 0)),
                                  m=person.get("months_since_last_rotation", 0)))
        if person.get("long_tenure"):
            lines.append(_("%(n)s years in the same post: long tenure goes first.", n=person.get("years_in_post", 0)))
        for code, ids in sorted((person.get("excluded") or {}).items()):
            lines.append(_("Colleagues not chosen (%(why)s): %(n)s.", why=rule_text(code), n=len(ids)))
    if host:
        lines.append(_("Host receives %(n)s of at most %(k)s this month.", n=host.get("received_this_month", 0),
                       k=host.get("capacity", 1)))
        if host.get("encouraged_pair"):
            lines.append(_("The two sections are encouraged to exchange."))
        lines.append(ngettext("This section sent people to this host %(num)d time before.",
                              "This section sent people to this host %(num)d times before.",
                              int(host.get("pair_count_before", 0))))
    return lines


def unfilled_text(item: dict) -> str:
    """Why a section sends fewer than N in a month."""
    detail = item.get("detail") or {}
    text = rule_text(item.get("rule"))
    if item.get("rule") == "base_staff":
        text += " " + _("(%(present)s at work, minimum %(min)s)", present=detail.get("present"),
                        min=detail.get("min_base_staff"))
    return text
