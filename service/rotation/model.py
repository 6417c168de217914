"""Plain data of the rotation solver: what goes in, what comes out, and the rule codes.

Everything here is a frozen dataclass of ids, dates, ints and tuples, so the app can build it from
the database and store what comes back without the solver knowing either. Ids are strings; a month
is a ``(year, month)`` tuple. The rules themselves are defined in :mod:`service.rotation.rules`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Mapping, Optional, Tuple

Month = Tuple[int, int]  # (year, month); a posting lasts one calendar month

# --- rule codes (stable strings; the app translates them) -------------------------------------
# Why a person cannot be posted in a month.
EXEMPT = "exempt"
ON_LEAVE = "on_leave"
NEW_JOINER = "new_joiner"  # still in the first M months after joining
PINNED_ELSEWHERE = "pinned_elsewhere"  # HR pinned this person to another month of the plan
FORBIDDEN = "forbidden"  # an HR forbid covers it
NO_ALLOWED_HOST = "no_allowed_host"  # every host is visited, avoided, forbidden or closed
# Why a person cannot go to a host.
OWN_SECTION = "own_section"
HOST_CLOSED = "host_closed"  # unknown or non-participating host
SAME_HOST_TWICE = "same_host_twice"
AVOIDANCE = "avoidance"  # relatives in the boss line (回避)
# Why a section-month sends fewer than N, or what a plan breaks.
NOT_PARTICIPATING = "not_participating"
BASE_STAFF = "base_staff"
NO_ELIGIBLE = "no_eligible"
HOST_CAPACITY = "host_capacity"
FAIRNESS = "fairness"
SENDS_PER_MONTH = "sends_per_month"
TWICE_IN_MONTH = "twice_in_month"
UNKNOWN_PERSON = "unknown_person"
UNKNOWN_MONTH = "unknown_month"
WRONG_SECTION = "wrong_section"
PIN_INVALID = "pin_invalid"
# Why a person of the sending section was not the one chosen (explanations).
POSTED_THIS_MONTH = "posted_this_month"  # another slot of the same month took them
HIGHER_ROTATION_COUNT = "higher_rotation_count"
TENURE_ORDER = "tenure_order"  # same count, but long-tenure people go first
POSTED_OTHER_MONTH = "posted_other_month"
LESS_SUITABLE = "less_suitable"  # same fairness tier; the chosen one cost less for this host

PROPOSED = "proposed"
INFEASIBLE = "infeasible"


@dataclass(frozen=True)
class Section:
    """A section (科室). ``headcount`` counts all its staff, candidates or not (None: candidates only).

    ``absent`` is the number of its non-candidate staff away in a month (leaders' leave, say):
    they count against the base working force like candidates on leave.
    A section that does not participate neither sends nor hosts.
    """

    id: str
    min_base_staff: int = 0
    headcount: Optional[int] = None
    participating: bool = True
    absent: Mapping[Month, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """A person who may be posted. History comes in as counts and sets, so plans chain.

    ``rotation_count`` and ``last_rotation_month`` cover every posting before this plan;
    ``hosts_visited`` every host ever visited; ``unavailable_months`` the months overlapped by
    approved leave; ``avoid_hosts`` the host sections closed by avoidance (回避).
    """

    person_id: str
    section_id: str
    joined_on: date
    post_since: date
    exempt: bool = False
    rotation_count: int = 0
    last_rotation_month: Optional[Month] = None
    hosts_visited: frozenset = frozenset()
    unavailable_months: frozenset = frozenset()
    avoid_hosts: frozenset = frozenset()


@dataclass(frozen=True)
class Pin:
    """HR fixes one posting; it is kept on every recompute while it breaks no rule."""

    person_id: str
    month: Month
    host_id: str


@dataclass(frozen=True)
class Forbid:
    """HR closes postings. A None field matches anything; person or section must be set.

    ``Forbid(section_id="A", host_id="B")`` closes the pairing A->B for the whole plan;
    ``Forbid(person_id="p", month=m)`` keeps p home in m; ``Forbid(section_id="A", month=m)``
    lets section A send nobody in m.
    """

    person_id: Optional[str] = None
    section_id: Optional[str] = None
    month: Optional[Month] = None
    host_id: Optional[str] = None

    def __post_init__(self):
        if self.person_id is None and self.section_id is None:
            raise ValueError("a forbid names a person or a section")


@dataclass(frozen=True)
class Weights:
    """Costs of a posting, all >= 0 so that 0 means an ideal posting (see solver docstring)."""

    recent: float = 1.0  # posting someone who rotated 0 months ago; falls linearly to 0 at recent_months
    pair: float = 1.0  # posting outside the section's encouraged partners, when it has any
    spread: float = 0.5  # per earlier posting on the same sender->host pair (history + plan)
    shortfall: float = 1000.0  # per posting a section could send but does not


@dataclass(frozen=True)
class PlanRules:
    """The unit's rotation rules; the defaults are the seed documents' and common practice.

    ``sends_by_section`` overrides N for some sections (0: the section only hosts).
    """

    sends_per_month: int = 1  # N
    sends_by_section: Mapping[str, int] = field(default_factory=dict)  # N for named sections (else N)
    host_cap_per_month: int = 1  # K
    min_months_after_joining: int = 6  # M
    long_tenure_years: int = 10  # civil-service rule: 10 years in one post must rotate
    recent_months: int = 24  # waiting this long makes a person's recency cost 0
    encouraged_pairs: Tuple[Tuple[str, str], ...] = ()  # unordered section pairs that should exchange
    pins: Tuple[Pin, ...] = ()
    forbids: Tuple[Forbid, ...] = ()
    weights: Weights = Weights()


@dataclass(frozen=True)
class PlanInput:
    """Everything the solver reads. ``history_pairs[(sender, host)]`` counts past postings."""

    sections: Tuple[Section, ...]
    candidates: Tuple[Candidate, ...]
    months: Tuple[Month, ...]
    rules: PlanRules = PlanRules()
    history_pairs: Mapping[Tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Posting:
    """One person in one host section for one month, with its cost and structured explanation."""

    person_id: str
    section_id: str
    host_id: str
    month: Month
    cost: float = 0.0
    pinned: bool = False
    explanation: Mapping = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Unfilled:
    """A section-month that sends fewer than N, and the rule that blocked it.

    ``excused`` is True when no plan at all could fill it (the rule works as intended, e.g. the
    section is at its minimum base staff); False when this plan fell short (host capacity,
    fairness order), which makes the plan infeasible.
    """

    section_id: str
    month: Month
    missing: int
    rule: str
    excused: bool
    detail: Mapping = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Reason:
    """A rule that blocks or is broken: (rule code, section, month, detail)."""

    rule: str
    section_id: Optional[str]
    month: Optional[Month]
    detail: Mapping = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Plan:
    """The solver's answer. ``status`` is PROPOSED or INFEASIBLE (then ``reasons`` says why).

    An infeasible plan still carries the best postings found, so HR sees what is possible.
    ``gap`` is (objective - lower_bound) / lower_bound, None when the bound is 0.
    """

    status: str
    postings: Tuple[Posting, ...]
    unfilled: Tuple[Unfilled, ...]
    reasons: Tuple[Reason, ...]
    objective: float
    lower_bound: float
    gap: Optional[float]
    stats: Mapping = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class WhatIf:
    """The answer to "what if we forbid this": the next-best plan and what it costs extra."""

    forbid: Forbid
    objective_before: float
    objective_after: float
    delta: float
    plan: Plan


@dataclass(frozen=True)
class Repair:
    """A repaired plan after changes: which approved postings broke, which were replaced."""

    plan: Plan
    conflicts: Tuple[Reason, ...]
    removed: Tuple[Posting, ...]
    added: Tuple[Posting, ...]
