"""Talk obligations: who owes whom a heart-to-heart talk, for which period, and how it stands.

A pure function of (cadence rules, trigger rules, register history, talks held, triggers, a date).
No clock is read here: the caller passes ``on``.

Semantics (the contract the web layer and the property tests rely on):

* **Pairs per period.** A cadence rule yields a pair (talker, talked-to) for a period when the
  relationship holds on at least one day of the period (see ``register.relationship_spans``).
  The obligation's *window* is the set of days of the period on which the relationship holds;
  ``window_start`` is its first day and ``due`` its last. So when someone moves on day M, the old
  leader's window ends on M-1 and the new leader's starts on M: the obligation moves on the move
  date, and the period of the move has one obligation on each side.
* **What satisfies.** A talk held on a day of the window (and on or before ``on``), of one of the
  rule's kinds, with the talker among its talkers and the talked-to among its talked-to. A group
  talk (``collective`` set, or more than one talked-to) counts only if the rule allows collective
  talks. The earliest such talk is reported (ties: input order).
* **Status on ``on``.** ``done`` (green) when satisfied; else ``due`` (blue) while
  ``on <= deadline`` where ``deadline = due + grace_days``; else ``overdue`` (red), with
  ``days_overdue = on - deadline``. Grace days allow for late *recording*, not late talks: a talk
  counts for the period it was held in, so one talk never settles two periods of one rule.
* **Horizon.** Periods that end on or after ``since`` (default: 365 days before ``on``) and whose
  window has started by ``on``. Periods wholly in the future are never produced; the current
  period is (blue until its deadline).
* **Triggered obligations.** For each trigger (an event about a person on a date) and each trigger
  rule for that event, the talkers named by the rule's selector on the trigger date each owe the
  person a talk in ``[date - window_before_days, date + deadline_days]``; ``due`` and
  ``deadline`` are the last day (no grace beyond the deadline). Trigger rules are data; new events
  need no code.
* **Never talked.** ``never_talked`` is true when no talk of any kind from talker to talked-to is
  on record up to ``on``; dashboards sort those first, then the most overdue (``red_letter_order``).
"""
from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from operator import attrgetter, itemgetter
from typing import NamedTuple

from service.talks.periods import FREQUENCIES, periods_overlapping
from service.talks.register import Audience, Membership, Oversight, Register, relationship_spans

KINDS = (
    "routine",  # 日常谈心
    "integrity",  # 廉政谈话
    "pre_appointment",  # 任前廉政谈话
    "reminder",  # 提醒谈话
    "admonition",  # 诫勉谈话
    "triggered",  # 必谈 (event-triggered)
    "political_birthday",  # 政治生日
)
TRIGGER_EVENTS = (
    "appointment", "post_change", "penalty", "award",
    "hospitalisation", "family_hardship", "rotation_start", "rotation_return",
)
TRIGGER_SELECTORS = ("head", "deputy_in_charge", "section_chief", "host_section_chief", "home_section_chief")

DONE, DUE, OVERDUE = "done", "due", "overdue"
STATUS_COLOURS = {DONE: "green", DUE: "blue", OVERDUE: "red"}  # the red-letter scheme

DEFAULT_HORIZON_DAYS = 365


@dataclass(frozen=True)
class TalkHeld:
    """A talk on record. Only what the cadence needs: never the content (confidential)."""

    id: Hashable
    date: date
    kind: str
    talker_ids: frozenset
    talked_to_ids: frozenset
    collective: bool = False

    def __post_init__(self) -> None:
        for name in ("talker_ids", "talked_to_ids"):
            value = getattr(self, name)
            if not isinstance(value, frozenset):
                object.__setattr__(self, name, frozenset(value))

    @property
    def is_group(self) -> bool:
        """A group talk: marked collective, or held with more than one person at once."""
        return self.collective or len(self.talked_to_ids) > 1


@dataclass(frozen=True)
class CadenceRule:
    """A unit's cadence rule: each ``talker_selector`` holder talks with each of the audience.

    ``talker_selector`` is a register role ('head', 'deputy', 'chief', ...). ``talked_to_selector``
    is an ``Audience`` (a bare scope string is accepted). ``anchor`` aligns ``every_n_weeks`` blocks.
    ``valid_from``/``valid_to`` (exclusive) let HR change a rule without rewriting history.
    """

    id: Hashable
    talker_selector: str
    talked_to_selector: Audience
    frequency: str
    n_weeks: int | None = None
    kinds: frozenset[str] = frozenset({"routine"})
    grace_days: int = 0
    collective_allowed: bool = False
    anchor: date | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    def __post_init__(self) -> None:
        if isinstance(self.talked_to_selector, str):
            object.__setattr__(self, "talked_to_selector", Audience(self.talked_to_selector))
        if not isinstance(self.kinds, frozenset):
            object.__setattr__(self, "kinds", frozenset(self.kinds))
        if self.frequency not in FREQUENCIES:
            raise ValueError(f"unknown frequency {self.frequency!r}; expected one of {FREQUENCIES}")
        if self.frequency == "every_n_weeks" and (not self.n_weeks or self.n_weeks < 1):
            raise ValueError("every_n_weeks needs n_weeks >= 1")
        if self.grace_days < 0:
            raise ValueError("grace_days must not be negative")


@dataclass(frozen=True)
class TriggerRule:
    """Who must talk with a person after an event, how, and by when."""

    id: Hashable
    event: str
    talker_selector: str
    kinds: frozenset[str] = frozenset({"triggered"})
    deadline_days: int = 7
    collective_allowed: bool = False
    window_before_days: int = 0  # a talk held shortly before the event is recorded still counts

    def __post_init__(self) -> None:
        if not isinstance(self.kinds, frozenset):
            object.__setattr__(self, "kinds", frozenset(self.kinds))
        if self.talker_selector not in TRIGGER_SELECTORS:
            raise ValueError(f"unknown selector {self.talker_selector!r}; expected one of {TRIGGER_SELECTORS}")
        if self.deadline_days < 0 or self.window_before_days < 0:
            raise ValueError("deadline_days and window_before_days must not be negative")


@dataclass(frozen=True)
class Trigger:
    """An event about a person (a care event, an appointment, a rotation start or return).

    ``section_id`` names the section whose leaders talk, when the register alone is ambiguous
    (someone kept on both home and host books); otherwise the person's section on ``date``.
    For ``rotation_start`` the date is the first day in the host section; for
    ``rotation_return`` the first day back home, so the section on that day is the right one.
    """

    id: Hashable
    person_id: Hashable
    event: str
    date: date
    section_id: Hashable | None = None


class Obligation(NamedTuple):
    """One talk owed, with its standing on the computation date. A tuple: cheap by the 100,000."""

    source: str  # 'cadence' or 'trigger'
    rule_id: Hashable  # the CadenceRule or TriggerRule
    trigger_id: Hashable | None  # the Trigger, for triggered obligations
    talker_id: Hashable
    talked_to_id: Hashable
    period_start: date
    period_end: date
    window_start: date  # first day a talk counts
    due: date  # last day a talk counts
    deadline: date  # due + grace: red after this day
    status: str
    satisfied_by_talk_id: Hashable | None
    days_overdue: int
    never_talked: bool


class TalkIndex:
    """Talks per (talker, talked-to) pair, in date order: built once, reused across computations.

    Each pair maps to a list of ``(ordinal, kind, is_group, talk_id)``; same-day talks keep input
    order, so "the earliest satisfying talk" is well defined. ``talker_id`` keeps one talker's
    talks only: such an index answers for that talker alone.
    """

    def __init__(self, talks: Iterable[TalkHeld], talker_id: Hashable | None = None):
        with _collector_paused():
            talks = list(talks)
            # One stable sort of all talks (a no-op when the database returns them by date) keeps
            # every pair's list in order without sorting 30,000 small lists.
            if any(talks[i].date > talks[i + 1].date for i in range(len(talks) - 1)):
                talks.sort(key=attrgetter("date"))
            pairs: dict[tuple, list[tuple]] = {}
            for talk in talks:
                talkers = talk.talker_ids
                if talker_id is not None:
                    if talker_id not in talkers:
                        continue
                    talkers = (talker_id,)
                talked_to = talk.talked_to_ids
                entry = (talk.date.toordinal(), talk.kind, talk.collective or len(talked_to) > 1, talk.id)
                for t in talkers:
                    for p in talked_to:
                        try:
                            pairs[(t, p)].append(entry)
                        except KeyError:
                            pairs[(t, p)] = [entry]
            self._pairs = pairs

    @classmethod
    def from_pairs(cls, rows: Iterable[tuple], earlier: Iterable[tuple] = (),
                   day_of: Callable[[object], date] = lambda d: d) -> "TalkIndex":
        """The same index from one row per (talker, talked-to) pair of each talk:
        ``(day, talk_id, talker_id, talked_to_id, kind, is_group)``, in (date, talk) order (as
        ``talk_pair`` is read). ``day_of`` turns ``day`` into a date (the database may give text).
        Only the talkers present in the rows are answered for.

        ``earlier`` holds ``(talker_id, talked_to_id, ordinal)`` for pairs that talked before every
        row (and before any window a rule looks at): such talks only settle "never talked", so one
        marker per pair (kind ``None``, accepted by no rule) stands for all of them."""
        index = cls.__new__(cls)
        ordinals: dict = {}
        with _collector_paused():
            pairs: defaultdict[tuple, list[tuple]] = defaultdict(list)
            for t, p, ordinal in earlier:
                pairs[(t, p)] = [(ordinal, None, True, None)]
            last_talk, entry = object(), None
            for raw_day, talk_id, t, p, kind, is_group in rows:
                if talk_id != last_talk:  # the pairs of one talk share one entry
                    ordinal = ordinals.get(raw_day)
                    if ordinal is None:
                        ordinal = ordinals[raw_day] = day_of(raw_day).toordinal()
                    entry = (ordinal, kind, bool(is_group), talk_id)
                    last_talk = talk_id
                pairs[(t, p)].append(entry)
            pairs.default_factory = None  # a plain mapping from here: get() of a stranger is None
            index._pairs = pairs
        return index

    def get(self, talker_id: Hashable, talked_to_id: Hashable) -> list[tuple] | None:
        """The pair's talks as ``(ordinal, kind, is_group, talk_id)``, or ``None`` if they never talked."""
        return self._pairs.get((talker_id, talked_to_id))


@contextmanager
def _collector_paused():
    """Pause the cyclic garbage collector while we allocate hundreds of thousands of tuples.

    They hold no cycles, but every allocation burst triggers full collections that walk all of the
    caller's objects (300,000 talks): measured, that doubles the run time. Restored on exit, and
    left alone if the caller had already disabled it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def index_talks(talks: Iterable[TalkHeld]) -> TalkIndex:
    """Index talks once, to pass as ``talks`` to many computations (e.g. one per dashboard)."""
    return TalkIndex(talks)


def _accepted(found, on: int, kinds, group_ok: bool) -> tuple[list[int], list]:
    """The pair's talks up to ``on`` that a rule accepts: dates (ordinals) and talk ids."""
    if found[-1][0] > on:  # talks after ``on`` in the index (in date order): up to ``on`` only
        n = len(found) - 1
        while n and found[n - 1][0] > on:
            n -= 1
        found = found[:n]
    if group_ok:
        chosen = [e for e in found if e[1] in kinds]
    else:
        chosen = [e for e in found if e[1] in kinds and not e[2]]
    return [e[0] for e in chosen], [e[3] for e in chosen]


def _first_within(dates: list[int], ids: list, pieces) -> Hashable | None:
    """Id of the earliest accepted talk held on a day of ``pieces`` (sorted closed spans)."""
    for a, b in pieces:
        j = bisect_left(dates, a)
        if j < len(dates) and dates[j] <= b:
            return ids[j]
    return None


class _Days:
    """Ordinal -> date, memoised: a year of obligations shares a few hundred distinct days."""

    def __init__(self) -> None:
        self._cache: dict[int, date] = {}

    def __call__(self, ordinal: int) -> date:
        d = self._cache.get(ordinal)
        if d is None:
            d = self._cache[ordinal] = date.fromordinal(ordinal)
        return d


_new_obligation = tuple.__new__  # skips NamedTuple's Python-level __new__: 300,000 times per run


def _cadence_obligations(rule: CadenceRule, register: Register, index: TalkIndex, on: int, since: int,
                         talker_id, day: _Days, out: list) -> None:
    periods = [
        (ps.toordinal(), pe.toordinal())
        for ps, pe in periods_overlapping(
            date.fromordinal(since), date.fromordinal(on), rule.frequency, rule.n_weeks, rule.anchor
        )
    ]
    first, last = periods[0][0], periods[-1][1]
    if rule.valid_from is not None:
        first = max(first, rule.valid_from.toordinal())
    if rule.valid_to is not None:
        last = min(last, rule.valid_to.toordinal() - 1)
    if first > last:
        return
    starts = [ps for ps, _ in periods]
    n_periods = len(periods)
    kinds, group_ok, grace = rule.kinds, rule.collective_allowed, rule.grace_days
    rule_id = rule.id
    # Dates of whole periods, made once: most windows are whole periods.
    whole = [(day(ps), day(pe), day(pe + grace)) for ps, pe in periods]

    spans = relationship_spans(register, rule.talker_selector, rule.talked_to_selector, first, last, talker_id)
    for (t, p), pair_spans in spans.items():
        # Clip the pair's spans to periods: a list of (period index, first, last), in day order.
        pieces = []
        for a, b in pair_spans:
            i = bisect_right(starts, a) - 1
            while i < n_periods and periods[i][0] <= b:
                ps, pe = periods[i]
                pieces.append((i, a if a > ps else ps, b if b < pe else pe))
                i += 1
        found = index.get(t, p)
        never = found is None or found[0][0] > on
        dates, ids = ([], []) if never else _accepted(found, on, kinds, group_ok)
        k, n_pieces = 0, len(pieces)
        while k < n_pieces:
            i, window_start, due = pieces[k]
            k += 1
            if k < n_pieces and pieces[k][0] == i:  # several spans in one period (moved and back)
                group = [(window_start, due)]
                while k < n_pieces and pieces[k][0] == i:
                    group.append(pieces[k][1:])
                    k += 1
                due = group[-1][1]
            else:
                group = None
            if window_start > on:
                break  # this and later windows have not started yet
            talk_id = None
            if dates:
                if group is None:
                    j = bisect_left(dates, window_start)
                    if j < len(dates) and dates[j] <= due:
                        talk_id = ids[j]
                else:
                    talk_id = _first_within(dates, ids, group)
            deadline = due + grace
            if talk_id is not None:
                status, late = DONE, 0
            elif on <= deadline:
                status, late = DUE, 0
            else:
                status, late = OVERDUE, on - deadline
            ps, pe = periods[i]
            ps_d, pe_d, deadline_d = whole[i]
            out.append(_new_obligation(Obligation, (
                "cadence", rule_id, None, t, p, ps_d, pe_d,
                ps_d if window_start == ps else day(window_start),
                pe_d if due == pe else day(due),
                deadline_d if due == pe else day(deadline),
                status, talk_id, late, never,
            )))


def _trigger_talkers(register: Register, selector: str, trigger: Trigger, day: int, window_end: int) -> list:
    """Who owes the talk, read from the register on the trigger date."""
    if selector == "head":
        talkers = register.holders("head", day)
    else:
        if trigger.section_id is not None:
            sections = [trigger.section_id]
        else:
            sections = register.sections_of(trigger.person_id, day)
            if not sections:
                # Not on the books that day (e.g. appointed from outside): use the first section
                # the person joins within the talk window.
                later = [(a, s) for (_, s, _, a, _) in register.by_person.get(trigger.person_id, ())
                         if day < a <= window_end]
                sections = [min(later, key=lambda x: x[0])[1]] if later else []
        if selector == "deputy_in_charge":
            talkers = register.overseers(sections, day)
        else:  # section_chief, host_section_chief, home_section_chief: chief on the trigger date
            talkers = register.holders("chief", day, sections)
    seen, result = set(), []
    for t in talkers:
        if t != trigger.person_id and t not in seen:  # a chief's own penalty is not his to talk about
            seen.add(t)
            result.append(t)
    return result


def _trigger_obligations(trigger_rules: Sequence[TriggerRule], triggers: Iterable[Trigger], register: Register,
                         index: TalkIndex, on: int, since: int, talker_id, day: _Days, out: list) -> None:
    by_event: dict[str, list[TriggerRule]] = defaultdict(list)
    for rule in trigger_rules:
        by_event[rule.event].append(rule)
    for trigger in triggers:
        rules = by_event.get(trigger.event)
        if not rules:
            continue
        when = trigger.date.toordinal()
        if when > on:
            continue  # recorded ahead of time: not yet an obligation
        p = trigger.person_id
        for rule in rules:
            due = when + rule.deadline_days
            if due < since:
                continue
            window_start = when - rule.window_before_days
            for t in _trigger_talkers(register, rule.talker_selector, trigger, when, due):
                if talker_id is not None and t != talker_id:
                    continue
                found = index.get(t, p)
                never = found is None or found[0][0] > on
                talk_id = None if never else _first_within(
                    *_accepted(found, on, rule.kinds, rule.collective_allowed), [(window_start, due)])
                if talk_id is not None:
                    status, late = DONE, 0
                elif on <= due:
                    status, late = DUE, 0
                else:
                    status, late = OVERDUE, on - due
                out.append(Obligation(
                    "trigger", rule.id, trigger.id, t, p, day(window_start), day(due), day(window_start),
                    day(due), day(due), status, talk_id, late, never,
                ))


def compute_obligations(
    rules: Sequence[CadenceRule],
    trigger_rules: Sequence[TriggerRule],
    memberships: Iterable[Membership] | Register,
    oversights: Iterable[Oversight],
    talks: Iterable[TalkHeld] | TalkIndex,
    triggers: Iterable[Trigger],
    on: date,
    since: date | None = None,
    talker_id: Hashable | None = None,
    out=None,
) -> list[Obligation]:
    """All talk obligations as they stand on ``on`` (see the module docstring for the rules).

    To reuse indexes across many calls (one per dashboard), pass ``talks`` as a ``TalkIndex`` from
    ``index_talks``, and ``memberships`` as a ``Register(memberships, oversights)`` with
    ``oversights=()``. ``since`` bounds the history (default: 365 days before ``on``).
    ``talker_id`` keeps only one talker's obligations. Cost is linear in register size, talks and
    obligations (plus a bisect per obligation); never pairs x talks.
    ``out`` (anything with ``append``, default a new list) receives the obligations one by one and
    is returned: a caller that only counts or keeps the first few need not hold them all.
    """
    on_o = on.toordinal()
    since_o = (since or on - timedelta(days=DEFAULT_HORIZON_DAYS)).toordinal()
    if since_o > on_o:
        return [] if out is None else out
    if isinstance(memberships, Register):
        if oversights:
            raise ValueError("a Register already holds the oversights: pass oversights=()")
        register = memberships
    index = talks if isinstance(talks, TalkIndex) else TalkIndex(talks, talker_id)
    day = _Days()
    if out is None:
        out = []
    with _collector_paused():
        if not isinstance(memberships, Register):
            register = Register(memberships, oversights)
        for rule in rules:
            _cadence_obligations(rule, register, index, on_o, since_o, talker_id, day, out)
        _trigger_obligations(trigger_rules, triggers, register, index, on_o, since_o, talker_id, day, out)
    return out


def obligations_for_talker(
    talker_id: Hashable,
    rules: Sequence[CadenceRule],
    trigger_rules: Sequence[TriggerRule],
    memberships: Iterable[Membership] | Register,
    oversights: Iterable[Oversight],
    talks: Iterable[TalkHeld] | TalkIndex,
    triggers: Iterable[Trigger],
    on: date,
    since: date | None = None,
) -> list[Obligation]:
    """One leader's obligations on ``on``, in red-letter order (for the leader's dashboard)."""
    return red_letter_order(compute_obligations(
        rules, trigger_rules, memberships, oversights, talks, triggers, on, since, talker_id=talker_id))


_STATUS_RANK = {OVERDUE: 0, DUE: 1, DONE: 2}
_PERIOD_START = itemgetter(5)  # Obligation.period_start
_DAYS_OVERDUE = itemgetter(12)  # Obligation.days_overdue


def red_letter_key(o: Obligation) -> tuple:
    """The red-letter order as a sort key: never-talked first, then the most overdue, then due
    soonest; done last (``red_letter_order`` sorts by it without calling it per obligation)."""
    return (not o.never_talked, -o.days_overdue, _STATUS_RANK[o.status], o.deadline, o.period_start)


def red_letter_order(obligations: Iterable[Obligation]) -> list[Obligation]:
    """Never-talked first, then the most overdue, then due soonest; done last: sorted by
    ``red_letter_key``, stable.

    Done this way for the whole unit's 300,000 obligations (0.6 s with the key per obligation,
    0.5 s with a (deadline, period start) key, as comparing dates is what costs): grouped by
    deadline (a few hundred distinct days), each group sorted by period start, then split by
    never-talked and status (only overdue ones have days overdue, always >= 1), and the overdue
    ones sorted by days overdue, most first. Python's sort is stable, also with ``reverse=True``,
    so ties keep the (deadline, period start) order and, within that, the input order."""
    by_deadline: dict[date, list] = {}
    for o in obligations:
        found = by_deadline.get(o[9])
        if found is None:
            by_deadline[o[9]] = [o]
        else:
            found.append(o)
    never = {OVERDUE: [], DUE: [], DONE: []}
    talked = {OVERDUE: [], DUE: [], DONE: []}
    for deadline in sorted(by_deadline):
        group = by_deadline[deadline]
        if len(group) > 1:
            group.sort(key=_PERIOD_START)
        for o in group:
            (never if o[13] else talked)[o[10]].append(o)
    for buckets in (never, talked):
        buckets[OVERDUE].sort(key=_DAYS_OVERDUE, reverse=True)
    return [*never[OVERDUE], *never[DUE], *never[DONE], *talked[OVERDUE], *talked[DUE], *talked[DONE]]
