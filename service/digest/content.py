"""The pure core of the weekly email: from one chunk's week of plain data to one person's digest.

No Flask, no session: ``WeekData`` holds what the loader fetched for a chunk of people (a superset),
and ``build_digest`` picks what concerns one person, by date and by line of leadership. Sections
with nothing in them are left out; a digest with no section is ``empty``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

# Section keys in the order the email shows them: one's own week first, then a leader's, then HR's.
STAFF_SECTIONS = ("talks", "follow_ups", "rotation", "health_check", "leave")
LEADER_SECTIONS = ("obligations", "visit_tasks", "team_leave", "section_rotations")
HR_SECTIONS = ("unit_summary",)
DUE_AHEAD_DAYS = 14  # a leader sees talks falling due this week and next
MAX_ITEMS = 30  # per section: the email shows the first ones and "N more" (the head of a big unit
# has thousands of talks due; an email that long helps nobody and costs the fan-out its speed)


@dataclass(frozen=True)
class PersonView:
    id: int
    name: str
    language: str
    access_role: str  # hr | leader | staff
    role: str  # head | deputy | chief | staff
    section_id: int | None = None
    overseen_section_ids: frozenset = frozenset()


@dataclass(frozen=True)
class ScheduledTalk:
    talk_id: int
    held_at: datetime
    place: str
    kind: str
    participant_ids: frozenset
    talker_names: tuple = ()

    @property
    def link(self):
        return "talks.show", {"talk_id": self.talk_id}


@dataclass(frozen=True)
class FollowUpItem:
    id: int
    talk_id: int
    owner_id: int
    description: str
    due_on: date

    @property
    def link(self):
        return "talks.show", {"talk_id": self.talk_id}


@dataclass(frozen=True)
class RotationItem:
    person_id: int
    person_name: str
    home_section_id: int
    home_section: tuple  # (Chinese, English) names
    host_section_id: int
    host_section: tuple
    starts: date  # first day in the host section
    returns: date  # first day back home

    @property
    def link(self):
        return "rotation.person", {"person_id": self.person_id}


@dataclass(frozen=True)
class HealthCheckItem:
    person_id: int
    campaign: str
    day: date
    half: str | None

    @property
    def link(self):
        return "care.health_check", {}


@dataclass(frozen=True)
class LeaveItem:
    person_id: int
    person_name: str
    section_id: int | None
    kind: tuple  # (Chinese, English) names
    start: date
    end: date

    @property
    def link(self):
        return "leave.person", {"person_id": self.person_id}


@dataclass(frozen=True)
class ObligationItem:
    talker_id: int
    talked_to_id: int
    talked_to_name: str
    deadline: date
    status: str  # due (blue) | overdue (red)
    days_overdue: int = 0
    never_talked: bool = False

    @property
    def colour(self) -> str:
        return "red" if self.status == "overdue" else "blue"

    @property
    def link(self):
        return "talks.new", {"with": self.talked_to_id}


@dataclass(frozen=True)
class VisitItem:
    id: int
    leader_id: int
    patient_name: str
    hospital: str
    due_on: date

    @property
    def link(self):
        return "care.overview", {}


@dataclass(frozen=True)
class UnitSummary:
    """HR's counts: overdue talks by leader (name, count), the campaign's progress, parked emails."""
    overdue_by_leader: tuple = ()
    campaign: str | None = None
    campaign_counts: tuple = ()  # (status, count) pairs
    parked_emails: int = 0

    @property
    def empty(self) -> bool:
        return not self.overdue_by_leader and not self.campaign_counts and not self.parked_emails


@dataclass
class WeekData:
    """A chunk's week, as plain data; any list may hold items of people outside the chunk."""
    talks: list = field(default_factory=list)
    follow_ups: list = field(default_factory=list)
    rotations: list = field(default_factory=list)
    health_checks: list = field(default_factory=list)
    leave: list = field(default_factory=list)
    obligations: list = field(default_factory=list)
    visit_tasks: list = field(default_factory=list)
    unit_summary: UnitSummary | None = None
    obligations_more: dict = field(default_factory=dict)  # talker id -> items the loader left out
    _index: dict = field(default_factory=dict, repr=False, compare=False)

    def of_person(self, source: str, attr: str, person_id: int) -> list:
        """Items of ``source`` whose ``attr`` is ``person_id``, through an index built on first use:
        the lists may hold the whole unit (a leader's team), and a scan per person would make the
        fan-out quadratic in the size of the unit."""
        key = (source, attr)
        index = self._index.get(key)
        if index is None:
            index = {}
            for item in getattr(self, source):
                index.setdefault(getattr(item, attr), []).append(item)
            self._index[key] = index
        return index.get(person_id, [])


@dataclass(frozen=True)
class DigestSection:
    key: str
    items: tuple
    more: int = 0  # items not shown (beyond MAX_ITEMS)


@dataclass(frozen=True)
class Digest:
    person_id: int
    week_start: date
    sections: tuple = ()

    @property
    def empty(self) -> bool:
        return not self.sections

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    @property
    def week_label(self) -> str:
        iso = self.week_start.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"

    def section(self, key: str) -> DigestSection | None:
        return next((s for s in self.sections if s.key == key), None)


def leads_section(leader: PersonView, section_id: int | None, person_id: int | None = None) -> bool:
    """Whether ``leader`` is in the line above someone of ``section_id`` (as ``permissions.leads``,
    over plain data): the head leads everyone, a deputy the sections in charge, a chief their own."""
    if person_id is not None and person_id == leader.id:
        return False
    if leader.role == "head":
        return True
    if leader.role == "deputy":
        return section_id in leader.overseen_section_ids
    if leader.role == "chief":
        return leader.section_id is not None and leader.section_id == section_id
    return False


def _overlaps(start: date, end: date, first: date, last: date) -> bool:
    return start <= last and end >= first


def build_digest(person: PersonView, week_start: date, data: WeekData) -> Digest:
    """``person``'s digest for the ISO week starting ``week_start`` (a Monday): their own talks,
    open follow-ups due by the week's end, rotation this week or next, health-check slot and leave;
    for leaders also red/blue talks due within two weeks, open visit tasks, their people's leave
    and rotations in or out of their sections; for HR the unit's counts. Empty sections are left out."""
    week_end = week_start + timedelta(days=6)
    ahead_end = week_start + timedelta(days=DUE_AHEAD_DAYS - 1)
    me = person.id
    found: dict[str, list] = {
        "talks": sorted((t for t in data.talks if me in t.participant_ids
                         and week_start <= t.held_at.date() <= week_end), key=lambda t: (t.held_at, t.talk_id)),
        "follow_ups": sorted((f for f in data.of_person("follow_ups", "owner_id", me) if f.due_on <= week_end),
                             key=lambda f: (f.due_on, f.id)),
        "rotation": sorted((r for r in data.of_person("rotations", "person_id", me)
                            if _overlaps(r.starts, r.returns - timedelta(days=1), week_start, ahead_end)),
                           key=lambda r: r.starts),
        "health_check": sorted((h for h in data.of_person("health_checks", "person_id", me)
                                if week_start <= h.day <= ahead_end), key=lambda h: h.day),
        "leave": sorted((item for item in data.of_person("leave", "person_id", me)
                         if _overlaps(item.start, item.end, week_start, week_end)), key=lambda i: i.start),
    }
    if person.access_role in ("leader", "hr") and person.role != "staff":
        found["obligations"] = [o for o in data.of_person("obligations", "talker_id", me) if (
            o.status == "overdue" or (o.status == "due" and o.deadline <= ahead_end))]
        found["obligations"].sort(key=lambda o: (not o.never_talked, -o.days_overdue, o.status != "overdue",
                                                 o.deadline, o.talked_to_id))
        found["visit_tasks"] = sorted(data.of_person("visit_tasks", "leader_id", me), key=lambda v: (v.due_on, v.id))
        found["team_leave"] = sorted((item for item in data.leave
                                      if leads_section(person, item.section_id, item.person_id)
                                      and _overlaps(item.start, item.end, week_start, week_end)),
                                     key=lambda i: (i.start, i.person_name))
        found["section_rotations"] = sorted(
            (r for r in data.rotations if r.person_id != me
             and (leads_section(person, r.home_section_id) or leads_section(person, r.host_section_id))
             and (week_start <= r.starts <= ahead_end or week_start <= r.returns <= ahead_end)),
            key=lambda r: (min(d for d in (r.starts, r.returns) if d >= week_start), r.person_name))
    if person.access_role == "hr" and data.unit_summary is not None and not data.unit_summary.empty:
        found["unit_summary"] = [data.unit_summary]
    order = STAFF_SECTIONS + LEADER_SECTIONS + HR_SECTIONS
    extra = {"obligations": data.obligations_more.get(me, 0)}
    sections = tuple(DigestSection(key, tuple(found[key][:MAX_ITEMS]),
                                   max(len(found[key]) - MAX_ITEMS, 0) + extra.get(key, 0))
                     for key in order if found.get(key))
    return Digest(me, week_start, sections)
