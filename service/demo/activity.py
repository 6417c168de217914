"""The demo office's recent life: leave, hospital visits, a health-check campaign, a proposed
rotation plan and three months of heart-to-heart talks.

Everything goes through the real REST API (the Flask test client with bearer tokens issued here and
revoked at the end), so the rules, the ledger, outbox rows and audit entries are the real ones. The
two worker jobs the API would queue and that the demo needs at once (the leave ledger run and the
rotation plan's computation) are called in-process, as the worker would call them. Every date is
relative to ``today``; any refused call raises ``DemoSeedError``.
"""
from __future__ import annotations

import random
import time
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from service.extensions import db


class DemoSeedError(RuntimeError):
    """A call the demo relies on was refused: the demo would be half-built, so fail loudly."""


# --------------------------------------------------------------------------------------- helpers

def _month_start(d: date, months: int = 0) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


class _Api:
    """The test client with one write token per person, issued on first use and revoked at close."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.base_url = app.config.get("PUBLIC_URL") or "http://localhost"
        self.tokens: dict[int, tuple[object, str]] = {}
        self.calls = 0

    def _token(self, person_id: int) -> str:
        from service.auth.models import ApiToken

        if person_id not in self.tokens:
            row, clear = ApiToken.issue(person_id, "demo seed", "write")
            db.session.add(row)
            db.session.commit()
            self.tokens[person_id] = (row.id, clear)
        return self.tokens[person_id][1]

    def call(self, method: str, url: str, as_id: int, json=None, expect: int = 200, query=None):
        response = self.client.open(url, method=method, json=json, query_string=query, base_url=self.base_url,
                                    headers={"Authorization": f"Bearer {self._token(as_id)}"})
        self.calls += 1
        if response.status_code != expect:
            raise DemoSeedError(f"demo seed: {method} {url} (person {as_id}) answered {response.status_code}, "
                                f"expected {expect}: {response.get_data(as_text=True)[:800]}"
                                f"\nrequest body: {json!r}"[:2000])
        return response.get_json(silent=True)

    def get(self, url, as_id, **kw):
        return self.call("GET", url, as_id, **kw)

    def post(self, url, as_id, json=None, expect=201, **kw):
        return self.call("POST", url, as_id, json=json, expect=expect, **kw)

    def patch(self, url, as_id, json=None, **kw):
        return self.call("PATCH", url, as_id, json=json, **kw)

    def close(self) -> None:
        """Revoke every token issued for the seeding."""
        from service.auth.models import ApiToken
        from service.clock import now_utc

        db.session.rollback()
        for token_id, _ in self.tokens.values():
            row = db.session.get(ApiToken, token_id)
            if row is not None and row.revoked_at is None:
                row.revoked_at = now_utc()
        db.session.commit()


class _Office:
    """Who is who in the demo office (read from the register the seed just wrote)."""

    def __init__(self):
        from service.people.models import Person, Section

        self.people = {p.employee_no: p for p in db.session.scalars(select(Person)).unique()}
        self.sections = {s.code: s for s in db.session.scalars(select(Section).order_by(Section.id))}
        self.by_section: dict[int, list] = {}
        for p in sorted(self.people.values(), key=lambda p: p.employee_no):
            if p.section_id is not None and p.role == "staff" and not p.is_hr_admin:
                self.by_section.setdefault(p.section_id, []).append(p)

    def id(self, employee_no: str) -> int:
        try:
            return self.people[employee_no].id
        except KeyError:
            raise DemoSeedError(f"demo seed: nobody with employee number {employee_no}") from None

    def chief_of(self, section_id: int):
        return next(p for p in self.people.values() if p.role == "chief" and p.section_id == section_id)


# --------------------------------------------------------------------------------------- the seed

def seed_activity(app, today: date) -> dict:
    """Give the freshly seeded demo office its recent activity; return counts and timings."""
    from service.workdays.official import is_working_day

    started = time.perf_counter()
    api = _Api(app)
    office = _Office()
    hr = office.id("HR001")
    rng = random.Random(f"talkcare-demo-activity-{today.isoformat()}")

    def working(d: date) -> bool:
        return is_working_day(d)

    def working_on_or_after(d: date) -> date:
        while not working(d):
            d += timedelta(days=1)
        return d

    def working_on_or_before(d: date) -> date:
        while not working(d):
            d -= timedelta(days=1)
        return d

    counts: dict = {}
    timings: dict = {}
    try:
        mark = time.perf_counter()
        counts["leave"] = _seed_leave(api, office, hr, today, working_on_or_after, working_on_or_before)
        timings["leave"] = time.perf_counter() - mark
        mark = time.perf_counter()
        counts["care"] = _seed_care(api, office, hr, today, working)
        timings["care"] = time.perf_counter() - mark
        mark = time.perf_counter()
        counts["rotation"] = _seed_rotation(api, office, hr, today)
        timings["rotation"] = time.perf_counter() - mark
        mark = time.perf_counter()
        counts["talks"] = _seed_talks(api, office, today, rng, working, working_on_or_before, working_on_or_after)
        timings["talks"] = time.perf_counter() - mark
    finally:
        api.close()
    counts["api_calls"] = api.calls
    counts["seconds"] = round(time.perf_counter() - started, 2)
    counts["timings"] = {k: round(v, 2) for k, v in timings.items()}
    current_app.logger.info("demo activity seeded: %s", counts)
    return counts


# --------------------------------------------------------------------------------------- leave

def _seed_leave(api: _Api, office: _Office, hr: int, today: date, on_or_after, on_or_before) -> dict:
    from workers.leave import book_leave_ledger

    # HR records leave already taken in the past weeks (approved directly).
    past = [("S201", 35, 3, "回老家探亲"), ("S302", 28, 2, "家中有事"), ("S403", 21, 5, "外出旅游"),
            ("S602", 14, 1, "孩子家长会"), ("C701", 10, 2, "休息调整"), ("S902", 7, 3, "陪护家人")]
    spans = []
    for no, days_ago, length, reason in past:
        start = on_or_after(today - timedelta(days=days_ago))
        end = start
        for _ in range(length - 1):
            nxt = on_or_after(end + timedelta(days=1))
            if nxt >= today or nxt.year != start.year:
                break
            end = nxt
        if end < today:
            spans.append((no, start, end, reason))

    def record(rows):
        for no, start, end, reason in rows:
            body = {"person_id": office.id(no), "kind": "annual", "start_date": start.isoformat(),
                    "end_date": end.isoformat(), "reason": reason, "record": True}
            recorded.append(api.post("/api/leave/requests", hr, body)["id"])

    # The daily ledger job, as the scheduler runs it (idempotent). When the recent leave reaches
    # back into last year, last year's run comes first and that leave is booked before the year closes.
    recorded: list[int] = []
    if any(start.year < today.year for _, start, _, _ in spans):
        book_leave_ledger(on=date(today.year - 1, 12, 31).isoformat())
        record([row for row in spans if row[1].year < today.year])
    booked = book_leave_ledger(on=today.isoformat())
    if not booked.get("allocated"):
        raise DemoSeedError(f"demo seed: the ledger run allocated nobody's annual leave: {booked}")
    record([row for row in spans if row[1].year == today.year])

    # Sick leave, recorded by HR with its certificate.
    sick_start = on_or_before(today - timedelta(days=3))
    sick = api.post("/api/leave/requests", hr, {
        "person_id": office.id("S503"), "kind": "sick", "start_date": sick_start.isoformat(),
        "end_date": on_or_after(sick_start + timedelta(days=1)).isoformat(), "reason": "急性肠胃炎",
        "evidence": "区人民医院病假证明", "record": True})

    # S101 asks for annual leave in a fortnight; it waits for the section chief.
    start = on_or_after(today + timedelta(days=14))
    end = on_or_after(start + timedelta(days=2))
    pending = api.post("/api/leave/requests", office.id("S101"), {
        "kind": "annual", "start_date": start.isoformat(), "end_date": end.isoformat(),
        "reason": "陪父母体检、休息几天"})
    if pending["status"] != "pending" or pending["current_approver_id"] != office.id("C101"):
        raise DemoSeedError(f"demo seed: S101's leave should wait for C101: {pending}")
    # And one a chief already approved, now with the deputy in charge.
    start2 = on_or_after(today + timedelta(days=21))
    second = api.post("/api/leave/requests", office.id("S402"), {
        "kind": "annual", "start_date": start2.isoformat(), "end_date": start2.isoformat(),
        "reason": "办理个人事务"})
    api.post(f"/api/leave/requests/{second['id']}/approve", office.id("C401"), {"note": "同意"}, expect=200)
    return {"ledger": booked, "recorded": len(recorded), "sick": sick["id"], "pending": [pending["id"], second["id"]]}


# --------------------------------------------------------------------------------------- care

def _seed_care(api: _Api, office: _Office, hr: int, today: date, working) -> dict:
    from service.people.models import Person, Relative

    # A staff member in hospital for ten days: visit tasks for the chief and the deputy in charge.
    patient = office.people["S305"] if "S305" in office.people else office.people["S303"]
    case = api.post("/api/care/hospital-cases", hr, {
        "person_id": patient.id, "admitted_on": (today - timedelta(days=2)).isoformat(),
        "discharged_on": (today + timedelta(days=8)).isoformat(), "hospital": "区人民医院", "out_of_town": False})
    if not case["tasks"]:
        raise DemoSeedError(f"demo seed: the hospital case created no visit tasks: {case}")
    # The section chief has already visited (with the union's allowance); the deputy has not yet.
    chief = office.chief_of(patient.section_id)
    for task in case["tasks"]:
        if task["leader_id"] == chief.id:
            api.post(f"/api/care/visit-tasks/{task['id']}/close", chief.id,
                     {"outcome": "visited", "note": "带慰问品到医院看望，精神状态良好。", "allowance_yuan": 200},
                     expect=200)

    # A staff member's parent in hospital in another city (phone or proxy visits allowed).
    relative = db.session.execute(
        select(Relative, Person).join(Person, Person.id == Relative.person_id)
        .where(Relative.relation == "parent", Person.role == "staff", Person.left_on.is_(None))
        .order_by(Person.employee_no, Relative.id)).first()
    if relative is None:
        raise DemoSeedError("demo seed: no staff member has a parent in the register")
    rel, kin = relative
    parent_case = api.post("/api/care/hospital-cases", hr, {
        "person_id": kin.id, "relative_id": rel.id, "admitted_on": (today - timedelta(days=5)).isoformat(),
        "discharged_on": (today + timedelta(days=10)).isoformat(), "hospital": "市第一人民医院",
        "out_of_town": True})

    # Next month's health check: clinic days on working days, the assignment left to the worker.
    first = _month_start(today, 1)
    days, d = [], first + timedelta(days=2)
    while len(days) < 5 and d.month == first.month:
        if working(d):
            days.append({"day": d.isoformat(), "capacity_am": 8, "capacity_pm": 6})
            d += timedelta(days=2)
        else:
            d += timedelta(days=1)
    campaign = api.post("/api/care/campaigns", hr, {
        "name": f"{first.year}年度职工健康体检", "year": first.year,
        "notice": "请按分配时段空腹前往区人民医院体检中心，携带身份证。如需调换请在系统中申请。",
        "days": days})
    job = api.post(f"/api/care/campaigns/{campaign['id']}/assign", hr, expect=202)
    overtime, event = _seed_overtime_and_events(api, office, patient, chief, today, working)
    return {"cases": [case["id"], parent_case["id"]], "campaign": campaign["id"], "clinic_days": len(days),
            "assign_job": job["job_id"], "overtime": overtime, "life_event": event}


def _seed_overtime_and_events(api: _Api, office: _Office, patient, chief, today: date, working) -> tuple:
    """A few overtime logs (a late evening confirmed by the chief, a weekend one waiting for the
    chief, a chief's own log for a staff member) and a wedding reported for the leaders' care."""
    staff = next(p for p in office.people.values() if p.role == "staff" and p.section_id == chief.section_id
                 and p.id != patient.id)
    last_working = today - timedelta(days=1)
    while not working(last_working):
        last_working -= timedelta(days=1)
    last_day_off = today - timedelta(days=1)
    while working(last_day_off):
        last_day_off -= timedelta(days=1)
    late = api.post("/api/care/overtime", staff.id, {"day": last_working.isoformat(), "start_time": "18:00",
                                                      "end_time": "21:30", "task": "赶写季度工作总结"})
    api.post(f"/api/care/overtime/{late['id']}/decision", chief.id, {"confirm": True}, expect=200)
    weekend = api.post("/api/care/overtime", staff.id, {"day": last_day_off.isoformat(), "start_time": "09:00",
                                                         "end_time": "17:00", "task": "周末值班，处理来信来访"})
    by_chief = api.post("/api/care/overtime", chief.id, {"person_id": patient.id, "day": last_day_off.isoformat(),
                                                          "hours": 4, "task": "配合完成数据报送"})
    kinds = {k["code"]: k["id"] for k in api.get("/api/care/event-kinds", staff.id)}
    event = api.post("/api/care/life-events", staff.id, {
        "person_id": staff.id, "kind_id": kinds["wedding"], "occurred_on": (today + timedelta(days=10)).isoformat(),
        "note": "下月举办婚礼"})
    return [late["id"], weekend["id"], by_chief["id"]], event["id"]


# --------------------------------------------------------------------------------------- rotation

def _seed_rotation(api: _Api, office: _Office, hr: int, today: date) -> dict:
    from workers.rotation import compute_plan

    year = today.year + 1
    section_ids = [s.id for s in office.sections.values()]
    codes = list(office.sections)
    encouraged = [[office.sections[a].id, office.sections[b].id] for a, b in (("MSK", "DCS"), ("XXK", "JYK"))
                  if a in codes and b in codes]
    job = api.post("/api/rotation/plans", hr, {
        "name": f"{year}年上半年轮岗交流计划", "first_month": f"{year}-01", "last_month": f"{year}-06",
        "section_ids": section_ids, "rules": {"encouraged_pairs": encouraged}}, expect=202)
    compute_plan(job["plan_id"], job["version"])  # what the worker does with the queued job
    db.session.expire_all()
    plan = api.get(f"/api/rotation/plans/{job['plan_id']}", hr)
    if plan["status"] != "proposed":
        raise DemoSeedError(f"demo seed: the rotation plan is {plan['status']}, not proposed: "
                            f"{plan.get('error')} {plan.get('reasons')}")
    return {"plan": plan["id"], "objective": plan["objective"]}


# --------------------------------------------------------------------------------------- talks

TOPICS = [
    ("近期思想和工作情况", "谈工作进展和思想状态", "工作任务较重，希望加强科室协作", "态度端正，积极主动"),
    ("家庭情况和实际困难", "了解家庭和生活情况", "孩子入学和老人照护有一定压力", "坦诚，愿意沟通"),
    ("岗位职责和能力提升", "谈岗位要求和学习计划", "希望多参加业务培训", "虚心接受意见"),
    ("年度工作总结与打算", "回顾本年度工作，谈明年打算", "建议优化文稿审核流程", "认真，思路清晰"),
    ("身体状况和工作节奏", "关心身体状况，合理安排工作", "近期加班较多，注意休息", "情绪稳定"),
]
INTEGRITY = ("廉洁自律提醒", "重申廉洁纪律要求，谈岗位廉政风险点", "表示将严守纪律，主动报告个人事项", "态度诚恳")
PLACES = ["主任办公室", "小会议室", "科室办公室", "副主任办公室"]


def _seed_talks(api: _Api, office: _Office, today: date, rng: random.Random, working, on_or_before,
                on_or_after) -> dict:
    start = today - timedelta(days=88)
    workdays = [start + timedelta(days=i) for i in range((today - start).days + 1)]
    workdays = [d for d in workdays if working(d) and d <= today]
    if not workdays:
        raise DemoSeedError("demo seed: no working day in the last three months")
    months = sorted({(d.year, d.month) for d in workdays})
    used: dict[int, set] = {}
    made = {"held": 0, "integrity": 0, "collective": 0, "scheduled": 0, "signed": 0, "follow_ups": 0,
            "follow_ups_done": 0}
    to_close: list[tuple[int, int, date]] = []

    def day_in(year_month) -> date:
        days = [d for d in workdays if (d.year, d.month) == year_month]
        return rng.choice(days)

    def talk(talker, talked_to, day: date, kind="routine", collective=False, follow_up=None, sign=True,
             topic_text=None) -> dict:
        talked = talked_to if isinstance(talked_to, list) else [talked_to]
        hour = rng.choice([9, 10, 14, 15, 16])
        slot = used.setdefault(talker.id, set())
        while (day, hour) in slot:
            hour = hour + 1 if hour < 17 else 9
        slot.add((day, hour))
        topic, outline, views, attitude = INTEGRITY if kind == "integrity" else rng.choice(TOPICS)
        body = {"kind": kind, "held_at": f"{day.isoformat()}T{hour:02d}:{rng.choice(['00', '30'])}",
                "duration_minutes": rng.choice([30, 40, 45, 60]), "place": rng.choice(PLACES),
                "topic": topic_text or topic, "collective": collective, "talker_ids": [talker.id],
                "talked_to_ids": [p.id for p in talked], "outline": outline,
                "content": f"{talker.name}与{'、'.join(p.name for p in talked)}谈心谈话：{outline}。",
                "views": views, "attitude": attitude}
        if follow_up:
            owner, text, due = follow_up
            body["follow_ups"] = [{"owner_id": owner.id, "description": text, "due_on": due.isoformat()}]
            body["follow_up_text"] = text
        created = api.post("/api/talks", talker.id, body)
        made["collective" if collective else ("integrity" if kind == "integrity" else "held")] += 1
        if follow_up:
            made["follow_ups"] += 1
        if sign and not collective:
            api.post(f"/api/talks/{created['id']}/signoff", talked[0].id)
            made["signed"] += 1
        return created

    people = office.people
    chiefs = sorted((p for p in people.values() if p.role == "chief"), key=lambda p: p.employee_no)
    deputies = sorted((p for p in people.values() if p.role == "deputy"), key=lambda p: p.employee_no)
    head = people["L001"]

    # Section chiefs: most keep their monthly talks up; a couple fall behind (red on the dashboard).
    for n, chief in enumerate(chiefs):
        staff = office.by_section.get(chief.section_id, [])
        if not staff:
            continue
        diligent = n % 4 != 3
        for m, month in enumerate(months[-3:] if diligent else months[-1:]):
            for person in rng.sample(staff, k=1):
                day = day_in(month)
                follow = None
                if rng.random() < 0.3:
                    due = day + timedelta(days=rng.choice([7, 14, 30]))
                    follow = (person if rng.random() < 0.5 else chief,
                              rng.choice(["提交学习计划", "协调解决加班调休", "整理业务培训需求", "报送家庭困难情况"]), due)
                created = talk(chief, person, day, follow_up=follow, sign=rng.random() < 0.7)
                if follow and follow[2] <= today and rng.random() < 0.6:
                    to_close.append((created["follow_up_items"][0]["id"], follow[0].id, follow[2]))

    # Deputies: a few talks a month with chiefs and staff of the sections they oversee.
    for deputy in deputies:
        mine = [c for c in chiefs if c.section_id in deputy.overseen_section_ids(today)]
        pool = mine + [p for c in mine for p in office.by_section.get(c.section_id, [])[:2]]
        for month in months[-2:]:
            for person in rng.sample(pool, k=min(len(pool), 2)):
                talk(deputy, person, day_in(month), sign=rng.random() < 0.6)

    # The head: individual talks with chiefs and some staff this quarter, two integrity talks with
    # chiefs of sensitive sections, and one collective talk with a whole section.
    for chief in chiefs[:4]:
        talk(head, chief, day_in(months[-1] if len(months) < 2 else rng.choice(months[-2:])))
    for code in ("JYK", "BMK"):
        section = office.sections.get(code)
        if section is not None:
            chief = office.chief_of(section.id)
            due = on_or_before(today - timedelta(days=3))
            talk(head, chief, day_in(months[-1]), kind="integrity",
                 follow_up=(chief, "报告本科室廉政风险点排查情况", due))
    msk = office.sections["MSK"]
    members = [office.chief_of(msk.id)] + office.by_section.get(msk.id, [])
    talk(head, members, day_in(months[-1]), collective=True, topic_text="年底工作部署和作风纪律集体谈话")

    for item_id, owner_id, due in to_close:
        api.patch(f"/api/talks/follow-ups/{item_id}", owner_id, {"done_on": min(due, today).isoformat()})
        made["follow_ups_done"] += 1

    # One talk scheduled for next week.
    chief = office.chief_of(office.sections["MSK"].id)
    when = on_or_after(today + timedelta(days=7))
    scheduled = api.post("/api/talks", chief.id, {
        "kind": "routine", "status": "scheduled", "held_at": f"{when.isoformat()}T10:00", "duration_minutes": 45,
        "place": "科室办公室", "topic": "轮岗交流前的思想准备", "talker_ids": [chief.id],
        "talked_to_ids": [office.by_section[msk.id][1].id]})
    made["scheduled"] += 1
    made["scheduled_talk"] = scheduled["id"]
    made["total"] = made["held"] + made["integrity"] + made["collective"] + made["scheduled"]
    return made

