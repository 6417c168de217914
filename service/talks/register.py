"""The effective-dated register as plain data, and who must talk with whom on which days.

Dates follow the database (``service.people.models.Posting``): ``valid_from`` is the first day,
``valid_to`` the first day *no longer* valid (exclusive), ``None`` for open-ended. A move is two
memberships that meet on the move date; a rotation posting is a membership in the host section
(the home membership ends, or is left running when the unit keeps people on both books).

Internally a span of days is a closed pair of ordinals ``(first, last)``: integers compare and
bisect much faster than dates over ten thousand people.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date

ROLES = ("head", "deputy", "chief", "staff")  # the register's vocabulary; other strings pass through
SCOPES = ("everyone", "overseen_sections", "own_sections")
OPEN_END = date.max.toordinal()

Span = tuple[int, int]


@dataclass(frozen=True)
class Membership:
    """A person's place in a section with a role, from ``valid_from`` until before ``valid_to``."""

    person_id: Hashable
    section_id: Hashable | None
    role: str
    valid_from: date
    valid_to: date | None = None

    def __post_init__(self) -> None:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from (it is exclusive)")


@dataclass(frozen=True)
class Oversight:
    """A leader's charge (分管) of a section, from ``valid_from`` until before ``valid_to``."""

    deputy_id: Hashable
    section_id: Hashable
    valid_from: date
    valid_to: date | None = None

    def __post_init__(self) -> None:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from (it is exclusive)")


@dataclass(frozen=True)
class Audience:
    """Whom a talker must talk with, relative to the talker on each day.

    ``scope``:
      * ``everyone``: every person on the register that day (the head's rule);
      * ``overseen_sections``: members of the sections the talker oversees that day (a deputy's);
      * ``own_sections``: members of the sections where the talker holds the talker role that day
        (a section chief's; a branch committee member's, if the branch is kept as a section).
    ``roles``: only members holding one of these roles (in that section, for the section scopes);
    ``None`` means any role. The talker is never in his or her own audience.
    """

    scope: str
    roles: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"unknown scope {self.scope!r}; expected one of {SCOPES}")
        if self.roles is not None and not isinstance(self.roles, frozenset):
            object.__setattr__(self, "roles", frozenset(self.roles))


def _last_day(valid_to: date | None) -> int:
    """Inclusive last ordinal of an exclusive ``valid_to``."""
    return OPEN_END if valid_to is None else valid_to.toordinal() - 1


class Register:
    """Indexes over memberships and oversights, built once per computation (linear time)."""

    def __init__(self, memberships: Iterable[Membership], oversights: Iterable[Oversight] = ()):
        # Each entry: (person, section, role, first, last).
        self.spans: list[tuple[Hashable, Hashable, str, int, int]] = []
        self.by_section: dict[Hashable, list] = defaultdict(list)
        self.by_role: dict[str, list] = defaultdict(list)
        self.by_person: dict[Hashable, list] = defaultdict(list)
        for m in memberships:
            entry = (m.person_id, m.section_id, m.role, m.valid_from.toordinal(), _last_day(m.valid_to))
            self.spans.append(entry)
            self.by_section[m.section_id].append(entry)
            self.by_role[m.role].append(entry)
            self.by_person[m.person_id].append(entry)
        # (leader, section, first, last), indexed both ways.
        self.oversight_by_leader: dict[Hashable, list] = defaultdict(list)
        self.oversight_by_section: dict[Hashable, list] = defaultdict(list)
        for o in oversights:
            entry = (o.deputy_id, o.section_id, o.valid_from.toordinal(), _last_day(o.valid_to))
            self.oversight_by_leader[o.deputy_id].append(entry)
            self.oversight_by_section[o.section_id].append(entry)

    def sections_of(self, person_id: Hashable, day: int) -> list[Hashable]:
        """Sections the person belongs to on ``day`` (an ordinal)."""
        return [s for (_, s, _, a, b) in self.by_person.get(person_id, ()) if a <= day <= b]

    def holders(self, role: str, day: int, sections: Iterable[Hashable] | None = None) -> list[Hashable]:
        """People holding ``role`` on ``day``, optionally only in ``sections``."""
        if sections is None:
            return [p for (p, _, _, a, b) in self.by_role.get(role, ()) if a <= day <= b]
        # Through the section index: a section has tens of members, a role thousands of holders.
        return [
            p for s in dict.fromkeys(sections) for (p, _, r, a, b) in self.by_section.get(s, ())
            if r == role and a <= day <= b
        ]

    def overseers(self, sections: Iterable[Hashable], day: int) -> list[Hashable]:
        """Leaders overseeing any of ``sections`` on ``day``."""
        found = []
        for s in sections:
            found.extend(d for (d, _, a, b) in self.oversight_by_section.get(s, ()) if a <= day <= b)
        return found


def _merge(spans: list[Span]) -> list[Span]:
    """Sorted, disjoint, non-adjacent spans covering the same days."""
    if len(spans) == 1:
        return spans
    spans.sort()
    merged = [spans[0]]
    for a, b in spans[1:]:
        last_a, last_b = merged[-1]
        if a <= last_b + 1:  # touching spans are one relationship (a move back on the next day)
            if b > last_b:
                merged[-1] = (last_a, b)
        else:
            merged.append((a, b))
    return merged


def relationship_spans(
    register: Register,
    talker_role: str,
    audience: Audience,
    first: int,
    last: int,
    talker_id: Hashable | None = None,
) -> dict[tuple[Hashable, Hashable], list[Span]]:
    """For each (talker, talked-to) pair, the days within ``[first, last]`` on which the pair holds.

    A pair holds on a day when the talker holds ``talker_role`` that day and the other person is in
    the talker's ``audience`` that day. Spans are merged, sorted and clipped to ``[first, last]``.
    ``talker_id`` restricts the result to one talker (a leader's dashboard).
    """
    roles = audience.roles
    found: dict[tuple[Hashable, Hashable], list[Span]] = defaultdict(list)

    talkers = register.by_role.get(talker_role, ())
    if talker_id is not None:
        talkers = [t for t in talkers if t[0] == talker_id]

    for t, t_section, _, ta, tb in talkers:
        a0, b0 = max(ta, first), min(tb, last)
        if a0 > b0:
            continue
        # Each window: the members to look at, and the days the talker may talk with them.
        if audience.scope == "everyone":
            windows = [(register.spans, a0, b0)]
        elif audience.scope == "overseen_sections":
            windows = [
                (register.by_section.get(s, ()), max(a0, oa), min(b0, ob))
                for (_, s, oa, ob) in register.oversight_by_leader.get(t, ())
                if oa <= b0 and ob >= a0
            ]
        elif t_section is not None:  # own_sections; a leader without a section has none
            windows = [(register.by_section.get(t_section, ()), a0, b0)]
        else:
            windows = []
        for members, a1, b1 in windows:
            for p, _, role, ma, mb in members:
                if p == t or (roles is not None and role not in roles):
                    continue
                a, b = max(a1, ma), min(b1, mb)
                if a <= b:
                    found[(t, p)].append((a, b))

    return {pair: _merge(spans) for pair, spans in found.items()}
