"""From the register to the solver's plain inputs (and month strings to and fro).

History comes from the register itself: every ``Posting`` row with reason "rotation" before the
plan counts (so fairness and "never the same host twice" carry across plans), its home is the
row before it. Leave comes from the leave domain through :func:`approved_leave_months`.
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import inspect, select

from service.extensions import db
from service.people.models import LEADER_ROLES, Person, Posting, Section
from service.rotation import model as core
from service.rotation.models import RotationPlan, next_month
from service.rotation.register import OUT_REASON

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
DEFAULT_RULES = {"sends_per_month": 1, "host_cap_per_month": 1, "min_months_after_joining": 6,
                 "long_tenure_years": 10, "recent_months": 24, "encouraged_pairs": [], "avoid_pairs": [],
                 "sends_by_section": []}


def parse_month(text: str) -> date:
    """``2027-01`` -> date(2027, 1, 1); ValueError otherwise."""
    found = MONTH_RE.match(text or "")
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise ValueError(_("Use YYYY-MM."))
    return date(int(found.group(1)), int(found.group(2)), 1)


def month_text(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_key(day: date) -> core.Month:
    return (day.year, day.month)


def key_day(month: core.Month) -> date:
    return date(month[0], month[1], 1)


def approved_leave_months(person_ids: list[int], months: list[date]) -> dict[int, set[date]]:
    """The plan months (first days) that approved leave overlaps, per person.

    Reads the leave domain's ``leave_request`` table when it exists (its approved requests); until
    the leave migration is installed nobody is on leave. The one adapter between the domains.
    """
    found: dict[int, set[date]] = defaultdict(set)
    if not person_ids or not months:
        return found
    if not inspect(db.engine).has_table("leave_request"):
        return found  # TODO(leave issue): drop this guard once the leave migration is in every install
    from service.leave.models import LeaveRequest

    start, end = months[0], next_month(months[-1])
    rows = db.session.execute(select(LeaveRequest.person_id, LeaveRequest.start_date, LeaveRequest.end_date).where(
        LeaveRequest.status == "approved", LeaveRequest.person_id.in_(person_ids),
        LeaveRequest.start_date < end, LeaveRequest.end_date >= start)).all()
    for person_id, first, last in rows:
        for m in months:
            if first < next_month(m) and last >= m:
                found[person_id].add(m)
    return found


def home_sections(people: list[Person], day: date) -> dict[int, int | None]:
    """Each person's home section on ``day`` (the section they return to when on rotation)."""
    rows = defaultdict(list)
    for row in db.session.scalars(select(Posting).where(Posting.person_id.in_([p.id for p in people]))
                                  .order_by(Posting.valid_from)):
        rows[row.person_id].append(row)
    out = {}
    for p in people:
        out[p.id] = _home_on(rows[p.id], day, p.section_id)
    return out


def _home_on(rows: list[Posting], day: date, fallback):
    for row in rows:
        if row.valid_from <= day and (row.valid_to is None or day < row.valid_to):
            if row.reason == OUT_REASON and row.valid_to is not None:
                return _home_on(rows, row.valid_to, fallback)
            return row.section_id
    return fallback if not rows else None


def _history(rows: list[Posting], before: date) -> dict:
    """Rotation history before ``before`` and the start of the current post, from register rows."""
    count, last, visited, pairs = 0, None, set(), []
    post_since, prev = None, None
    for row in rows:
        if row.valid_from >= before:
            break
        if row.reason == OUT_REASON:
            count += 1
            last = month_key(row.valid_from)
            visited.add(str(row.section_id))
            if prev is not None and prev.section_id is not None:
                pairs.append((str(prev.section_id), str(row.section_id)))
            continue
        if prev is None or (prev.section_id, prev.post) != (row.section_id, row.post):
            post_since = row.valid_from
        prev = row
    return {"count": count, "last": last, "visited": frozenset(visited), "pairs": pairs,
            "post_since": post_since}


def avoided_hosts(avoid_pairs: list, people: dict[int, Person], plan_start: date) -> dict[int, set[str]]:
    """Hosts closed by avoidance (回避): a relative who is the host's chief, or the deputy in
    charge of it, would be the person's boss there. Pairs are plan input: the register keeps a
    relative's name only, not a link to a colleague."""
    closed = defaultdict(set)
    for a, b in avoid_pairs:
        for me, other in ((a, b), (b, a)):
            rel = people.get(other)
            if rel is None or not rel.active:
                continue
            if rel.role == "chief" and rel.section_id:
                closed[me].add(str(rel.section_id))
            if rel.role == "deputy":
                closed[me].update(str(s) for s in rel.overseen_section_ids(plan_start))
    return closed


def build_input(plan: RotationPlan, months: list[date] | None = None) -> tuple[core.PlanInput, dict]:
    """The plan's input for the solver, from the register as it stands.

    ``months`` (default: all the plan's) narrows the plan, e.g. to the months still ahead for a
    repair; history then counts the register's rotations before the first of them, which
    includes the plan's own approved earlier months. Returns the input and a context dict
    (people and sections by id) for storing the result.
    """
    months = months or plan.months()
    start = months[0]
    end = next_month(months[-1])
    rules = {**DEFAULT_RULES, **(plan.rules or {})}
    section_ids = [int(s) for s in plan.section_ids]
    sections = {s.id: s for s in db.session.scalars(select(Section).where(Section.id.in_(section_ids)))}
    everyone = db.session.scalars(select(Person)).unique().all()
    by_id = {p.id: p for p in everyone}
    present = [p for p in everyone if p.left_on is None or p.left_on > start]
    home = home_sections(present, start)
    members = defaultdict(list)
    for p in present:
        if home.get(p.id) in sections:
            members[home[p.id]].append(p)
    rows = defaultdict(list)
    member_ids = [p.id for ms in members.values() for p in ms]
    for row in db.session.scalars(select(Posting).where(Posting.person_id.in_(member_ids))
                                  .order_by(Posting.valid_from)):
        rows[row.person_id].append(row)
    leave = approved_leave_months(member_ids, months)
    avoid = avoided_hosts(rules["avoid_pairs"], by_id, start)

    candidates, history_pairs = [], defaultdict(int)
    absent = defaultdict(lambda: defaultdict(int))
    for sid, ms in members.items():
        for p in ms:
            away = set(leave.get(p.id, ()))
            if p.left_on is not None:
                away |= {m for m in months if p.left_on < next_month(m)}
            if p.role in LEADER_ROLES:
                # Leaders lead; they are not rotated for learning, but their absence counts.
                for m in away:
                    absent[sid][month_key(m)] += 1
                continue
            past = _history(rows[p.id], start)
            for pair in past["pairs"]:
                history_pairs[pair] += 1
            joined = p.joined_on or (rows[p.id][0].valid_from if rows[p.id] else start)
            candidates.append(core.Candidate(
                person_id=str(p.id), section_id=str(sid), joined_on=joined,
                post_since=past["post_since"] or joined, exempt=bool(p.rotation_exempt),
                rotation_count=past["count"], last_rotation_month=past["last"],
                hosts_visited=past["visited"],
                unavailable_months=frozenset(month_key(m) for m in away),
                avoid_hosts=frozenset(avoid.get(p.id, ()))))
    core_sections = tuple(core.Section(str(sid), min_base_staff=sections[sid].min_base_staff,
                                       headcount=len(members[sid]), participating=True,
                                       absent=dict(absent[sid]))
                          for sid in sorted(sections))
    pins, forbids = [], []
    month_keys = {month_key(m) for m in months}
    for c in plan.constraints:
        m = month_key(c.month) if c.month else None
        if c.kind == "pin":
            if m in month_keys:
                pins.append(core.Pin(str(c.person_id), m, str(c.host_section_id)))
        else:
            forbids.append(core.Forbid(person_id=str(c.person_id) if c.person_id else None,
                                       section_id=str(c.section_id) if c.section_id else None,
                                       month=m, host_id=str(c.host_section_id) if c.host_section_id else None))
    plan_rules = core.PlanRules(
        sends_per_month=rules["sends_per_month"], host_cap_per_month=rules["host_cap_per_month"],
        sends_by_section={str(x["section_id"]): int(x["sends_per_month"]) for x in rules["sends_by_section"]},
        min_months_after_joining=rules["min_months_after_joining"],
        long_tenure_years=rules["long_tenure_years"], recent_months=rules["recent_months"],
        encouraged_pairs=tuple((str(a), str(b)) for a, b in rules["encouraged_pairs"]),
        pins=tuple(pins), forbids=tuple(forbids))
    inp = core.PlanInput(core_sections, tuple(candidates), tuple(month_key(m) for m in months),
                         plan_rules, dict(history_pairs))
    return inp, {"people": by_id, "sections": sections, "end": end}
