"""The rotation rules and the objective, written plainly: the reference the fast solver must meet.

These functions are slow on purpose (loops over dataclasses, no arrays) so that they read like
the rules. The solver in :mod:`service.rotation.solver` re-implements them with arrays; the tests
check its plans with :func:`violations` and its objective with :func:`plan_cost`.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Iterable, Optional, Sequence

from .model import (
    AVOIDANCE, BASE_STAFF, EXEMPT, FAIRNESS, FORBIDDEN, HOST_CAPACITY, HOST_CLOSED, NEW_JOINER,
    NO_ALLOWED_HOST, NO_ELIGIBLE, NOT_PARTICIPATING, ON_LEAVE, OWN_SECTION, PIN_INVALID,
    PINNED_ELSEWHERE, SAME_HOST_TWICE, SENDS_PER_MONTH, TWICE_IN_MONTH, UNKNOWN_MONTH,
    UNKNOWN_PERSON, WRONG_SECTION, Candidate, Forbid, Month, Pin, PlanInput, Posting, Reason,
)


def month_ordinal(month: Month) -> int:
    """Months since year 0, so that differences count calendar months."""
    return month[0] * 12 + month[1] - 1


def months_between(earlier: Month, later: Month) -> int:
    return month_ordinal(later) - month_ordinal(earlier)


def _month_of(day: date) -> Month:
    return (day.year, day.month)


def years_in_post(candidate: Candidate, month: Month) -> int:
    """Full years in the current post on the first day of the month."""
    first = date(month[0], month[1], 1)
    since = candidate.post_since
    years = first.year - since.year - ((first.month, first.day) < (since.month, since.day))
    return max(0, years)


def is_long_tenure(plan_input: PlanInput, candidate: Candidate, month: Month) -> bool:
    return years_in_post(candidate, month) >= plan_input.rules.long_tenure_years


def months_waited(candidate: Candidate, month: Month, last_in_plan: Optional[Month] = None) -> int:
    """Months since the last rotation (in this plan, else before it), or since joining if never."""
    last = last_in_plan or candidate.last_rotation_month or _month_of(candidate.joined_on)
    return months_between(last, month)


def recency_cost(plan_input: PlanInput, waited: int) -> float:
    """Cost of posting someone who rotated ``waited`` months ago: falls linearly to 0."""
    rules = plan_input.rules
    horizon = max(1, rules.recent_months)
    return rules.weights.recent * max(0, horizon - waited) / horizon


def sends_of(plan_input: PlanInput, section_id: str) -> int:
    """N for this section: its own value when the plan sets one, else the plan-wide value."""
    rules = plan_input.rules
    return rules.sends_by_section.get(section_id, rules.sends_per_month)


def partners(plan_input: PlanInput) -> dict:
    """Encouraged exchange partners of each section."""
    found = defaultdict(set)
    for a, b in plan_input.rules.encouraged_pairs:
        if a != b:
            found[a].add(b)
            found[b].add(a)
    return found


def forbid_matches(forbid: Forbid, person_id, section_id, month, host_id) -> bool:
    """Does the forbid close this posting? ``host_id`` None asks "may they be posted at all"."""
    return ((forbid.person_id is None or forbid.person_id == person_id)
            and (forbid.section_id is None or forbid.section_id == section_id)
            and (forbid.month is None or forbid.month == month)
            and (forbid.host_id is None if host_id is None
                 else forbid.host_id is None or forbid.host_id == host_id))


def valid_pins(plan_input: PlanInput) -> tuple[list[Pin], list[Reason]]:
    """Pins that break no rule checkable on their own, and a reason for each that does.

    Capacity, base staff and fairness depend on the whole plan; :func:`violations` checks those.
    """
    people = {c.person_id: c for c in plan_input.candidates}
    sections = {s.id: s for s in plan_input.sections}
    months = set(plan_input.months)
    kept, reasons, seen_month, seen_host = [], [], set(), set()
    for pin in plan_input.rules.pins:
        person = people.get(pin.person_id)
        problem = None
        if person is None:
            problem = UNKNOWN_PERSON
        elif pin.month not in months:
            problem = UNKNOWN_MONTH
        elif (pin.person_id, pin.month) in seen_month:
            problem = TWICE_IN_MONTH
        elif (pin.person_id, pin.host_id) in seen_host:
            problem = SAME_HOST_TWICE
        else:
            problem = (availability(plan_input, person, pin.month, pins=())
                       or host_refusal(plan_input, person, pin.month, pin.host_id, person.hosts_visited))
            if problem is None and not sections[person.section_id].participating:
                problem = NOT_PARTICIPATING
        if problem is None:
            kept.append(pin)
            seen_month.add((pin.person_id, pin.month))
            seen_host.add((pin.person_id, pin.host_id))
        else:
            section = person.section_id if person else None
            reasons.append(Reason(PIN_INVALID, section, pin.month,
                                  {"rule": problem, "person_id": pin.person_id, "host_id": pin.host_id}))
    return kept, reasons


def availability(plan_input: PlanInput, candidate: Candidate, month: Month,
                 pins: Optional[Sequence[Pin]] = None) -> Optional[str]:
    """Why the person cannot be posted in this month at all, or None if they can.

    A person with a (valid) pin in another month of the plan is reserved for it.
    """
    rules = plan_input.rules
    if candidate.exempt:
        return EXEMPT
    if month in candidate.unavailable_months:
        return ON_LEAVE
    if months_between(_month_of(candidate.joined_on), month) < rules.min_months_after_joining:
        return NEW_JOINER
    if any(forbid_matches(f, candidate.person_id, candidate.section_id, month, None)
           for f in rules.forbids):
        return FORBIDDEN
    if pins is None:
        pins = valid_pins(plan_input)[0]
    mine = {p.month for p in pins if p.person_id == candidate.person_id}
    if mine and month not in mine:
        return PINNED_ELSEWHERE
    return None


def _open_hosts(plan_input: PlanInput) -> frozenset:
    key = id(plan_input)
    if _OPEN_CACHE.get("key") != key:
        _OPEN_CACHE.clear()
        _OPEN_CACHE.update(key=key, value=frozenset(s.id for s in plan_input.sections if s.participating),
                           keep=plan_input)
    return _OPEN_CACHE["value"]


_OPEN_CACHE: dict = {}  # one-entry cache: the checks below ask the same input thousands of times


def host_refusal(plan_input: PlanInput, candidate: Candidate, month: Month, host_id: str,
                 visited: Iterable[str]) -> Optional[str]:
    """Why this person cannot go to this host in this month, or None if they can."""
    if host_id == candidate.section_id:
        return OWN_SECTION
    if host_id not in _open_hosts(plan_input):
        return HOST_CLOSED
    if host_id in visited:
        return SAME_HOST_TWICE
    if host_id in candidate.avoid_hosts:
        return AVOIDANCE
    if any(forbid_matches(f, candidate.person_id, candidate.section_id, month, host_id)
           for f in plan_input.rules.forbids):
        return FORBIDDEN
    return None


def eligibility(plan_input: PlanInput, candidate: Candidate, month: Month, visited: Iterable[str],
                pins: Optional[Sequence[Pin]] = None) -> Optional[str]:
    """Why the person is not eligible this month (None: eligible). Eligible = available and at
    least one host would take them; host capacity does not count, since it depends on the plan."""
    why = availability(plan_input, candidate, month, pins)
    if why:
        return why
    visited = set(visited)
    open_hosts = _open_hosts(plan_input)
    closed = (visited | set(candidate.avoid_hosts) | {candidate.section_id}) & open_hosts
    if len(closed) < len(open_hosts) and not any(
            f.host_id is not None and f.person_id in (None, candidate.person_id)
            and f.section_id in (None, candidate.section_id) for f in plan_input.rules.forbids):
        return None  # some open host is neither visited, avoided, own nor forbidden
    if all(host_refusal(plan_input, candidate, month, s.id, visited) for s in plan_input.sections):
        return NO_ALLOWED_HOST
    return None


def section_forbidden(plan_input: PlanInput, section_id: str, month: Month) -> bool:
    return any(f.person_id is None and forbid_matches(f, None, section_id, month, None)
               for f in plan_input.rules.forbids)


def _members(plan_input: PlanInput) -> dict:
    found = defaultdict(list)
    for c in plan_input.candidates:
        found[c.section_id].append(c)
    return found


def present_staff(plan_input: PlanInput, section_id: str, month: Month, members=None) -> int:
    """Staff at work in the section that month before anyone is posted (learners hosted don't count)."""
    section = next(s for s in plan_input.sections if s.id == section_id)
    if members is None:
        members = _members(plan_input)[section_id]
    headcount = section.headcount if section.headcount is not None else len(members)
    on_leave = sum(month in c.unavailable_months for c in members)
    return headcount - section.absent.get(month, 0) - on_leave


def local_limits(plan_input: PlanInput) -> dict:
    """For each (section, month): the most it can send in any plan, the rule capping it below N.

    ``min(N, present - min_base_staff, eligible members)`` with the section's own N
    (:func:`sends_of`); 0 when not participating or
    forbidden. The rule is None when the limit is N. Values are (limit, rule, detail).
    """
    pins = valid_pins(plan_input)[0]
    members = _members(plan_input)
    found = {}
    for section in plan_input.sections:
        mine = members[section.id]
        n = sends_of(plan_input, section.id)
        for month in plan_input.months:
            if not section.participating:
                found[(section.id, month)] = (0, NOT_PARTICIPATING, {})
                continue
            if section_forbidden(plan_input, section.id, month):
                found[(section.id, month)] = (0, FORBIDDEN, {})
                continue
            present = present_staff(plan_input, section.id, month, mine)
            base_room = max(0, present - section.min_base_staff)
            why = {c.person_id: eligibility(plan_input, c, month, c.hosts_visited, pins) for c in mine}
            eligible = sum(w is None for w in why.values())
            limit = min(n, base_room, eligible)
            if limit == n:
                found[(section.id, month)] = (limit, None, {})
            elif base_room <= eligible:
                found[(section.id, month)] = (limit, BASE_STAFF, {
                    "present": present, "min_base_staff": section.min_base_staff})
            else:
                excluded = defaultdict(list)
                for person, w in why.items():
                    if w:
                        excluded[w].append(person)
                found[(section.id, month)] = (limit, NO_ELIGIBLE, {"excluded": dict(excluded)})
    return found


def violations(plan_input: PlanInput, postings: Sequence[Posting]) -> list[Reason]:
    """Every hard rule the postings break, as reasons. An empty list means the plan is lawful.

    Fairness, precisely: at each month, each posted person's key (rotation count so far, then 0
    for long tenure not yet out in this plan / 1 otherwise) is <= the key of every member of the same section who is
    eligible that month and not posted that month. "So far" counts postings before the month,
    in this plan and before it (``rotation_count``), which carries fairness across plans.
    """
    rules = plan_input.rules
    people = {c.person_id: c for c in plan_input.candidates}
    sections = {s.id: s for s in plan_input.sections}
    months = list(plan_input.months)
    pins = valid_pins(plan_input)[0]
    found: list[Reason] = []

    def flag(rule, posting, **detail):
        found.append(Reason(rule, posting.section_id, posting.month,
                            {"person_id": posting.person_id, "host_id": posting.host_id, **detail}))

    lawful = []
    per_person_month = Counter()
    for post in postings:
        person = people.get(post.person_id)
        if person is None:
            flag(UNKNOWN_PERSON, post)
            continue
        if post.month not in months:
            flag(UNKNOWN_MONTH, post)
            continue
        if post.section_id != person.section_id:
            flag(WRONG_SECTION, post)
            continue
        if not sections[person.section_id].participating:
            flag(NOT_PARTICIPATING, post)
        why = availability(plan_input, person, post.month, pins)
        if why:
            flag(why, post)
        why = host_refusal(plan_input, person, post.month, post.host_id, person.hosts_visited)
        if why:
            flag(why, post)
        per_person_month[(post.person_id, post.month)] += 1
        lawful.append(post)
    for (person_id, month), n in per_person_month.items():
        if n > 1:
            found.append(Reason(TWICE_IN_MONTH, people[person_id].section_id, month, {"person_id": person_id}))
    for (person_id, host_id), n in Counter((p.person_id, p.host_id) for p in lawful).items():
        if n > 1:
            found.append(Reason(SAME_HOST_TWICE, people[person_id].section_id, None,
                                {"person_id": person_id, "host_id": host_id}))

    members = _members(plan_input)
    sent = defaultdict(list)
    received = Counter()
    for post in lawful:
        sent[(post.section_id, post.month)].append(post.person_id)
        received[(post.host_id, post.month)] += 1
    for (section_id, month), who in sent.items():
        allowed = sends_of(plan_input, section_id)
        if len(who) > allowed:
            found.append(Reason(SENDS_PER_MONTH, section_id, month, {"sent": len(who), "allowed": allowed}))
        present = present_staff(plan_input, section_id, month, members[section_id])
        if present - len(who) < sections[section_id].min_base_staff:
            found.append(Reason(BASE_STAFF, section_id, month,
                                {"present": present, "sent": len(who),
                                 "min_base_staff": sections[section_id].min_base_staff}))
    for (host_id, month), n in received.items():
        if n > rules.host_cap_per_month:
            found.append(Reason(HOST_CAPACITY, host_id, month, {"received": n}))

    # Fairness, month by month, with counts and visited hosts carried through the plan.
    count = {pid: c.rotation_count for pid, c in people.items()}
    visited = {pid: set(c.hosts_visited) for pid, c in people.items()}
    by_month = defaultdict(list)
    for post in lawful:
        by_month[post.month].append(post)
    for month in months:
        posted_now = {p.person_id for p in by_month[month]}

        def key(c):
            first_time = count[c.person_id] == c.rotation_count  # not yet out in this plan
            return (count[c.person_id], 0 if first_time and is_long_tenure(plan_input, c, month) else 1)

        for section_id in {p.section_id for p in by_month[month]}:
            waiting = [c for c in members[section_id] if c.person_id not in posted_now
                       and eligibility(plan_input, c, month, visited[c.person_id], pins) is None]
            if not waiting:
                continue
            lowest = min(waiting, key=key)
            for post in by_month[month]:
                if post.section_id == section_id and key(people[post.person_id]) > key(lowest):
                    flag(FAIRNESS, post, skipped=lowest.person_id)
        for post in by_month[month]:
            count[post.person_id] += 1
            visited[post.person_id].add(post.host_id)
    return found


def plan_cost(plan_input: PlanInput, postings: Sequence[Posting]) -> float:
    """The objective, from its definition: the sum over postings of

    recency (``weights.recent * max(0, R - months waited) / R``, waited counting from the last
    rotation, in this plan or before) + ``weights.pair`` when the sender has encouraged partners
    and the host is not one of them; plus ``weights.spread * sum_{j<n}(history + j)`` for each
    sender->host pair posted n times in the plan; plus ``weights.shortfall`` for each posting a
    section-month sends below its local limit (:func:`local_limits`).
    """
    rules = plan_input.rules
    w = rules.weights
    people = {c.person_id: c for c in plan_input.candidates}
    mates = partners(plan_input)
    total = 0.0
    last: dict = {}
    for post in sorted(postings, key=lambda p: month_ordinal(p.month)):
        person = people[post.person_id]
        total += recency_cost(plan_input, months_waited(person, post.month, last.get(post.person_id)))
        if mates.get(post.section_id) and post.host_id not in mates[post.section_id]:
            total += w.pair
        last[post.person_id] = post.month
    for (sender, host), n in Counter((p.section_id, p.host_id) for p in postings).items():
        before = plan_input.history_pairs.get((sender, host), 0)
        total += w.spread * (n * before + n * (n - 1) / 2)
    sent = Counter((p.section_id, p.month) for p in postings)
    for (section_id, month), (limit, _, _) in local_limits(plan_input).items():
        total += w.shortfall * max(0, limit - sent[(section_id, month)])
    return total
