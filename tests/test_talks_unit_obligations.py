"""Unit-wide obligations from the lean loading path are exactly the straightforward ones.

``loading.obligations`` reads full talk rows only from the first day a talk can satisfy an
obligation and one "talked before" marker per pair for the older year; ``loading.talker_obligations``
computes talker by talker on each group's own register scope; the weekly email streams them per
chunk (``digest.loading.UnitTalks``). Each is compared with the plain computation (every talk of
the two years as a ``TalkHeld``, the whole register) on a generated office with moves, rotations,
oversight changes, collective talks, several talkers at once, old talks and triggers, on the
real database.
"""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import insert, select

ON = date(2026, 11, 20)
SECTIONS = 6
PER_SECTION = 7


def generate(seed: int, per_section: int = PER_SECTION) -> dict:
    """An office written with Core inserts: a head, three deputies, a chief and staff per
    section, moves and a rotation, an oversight handed over, two years and a half of talks."""
    from service.extensions import db
    from service.people.models import Oversight, Person, Posting, Section
    from service.talks.loading import talk_settings
    from service.talks.models import Talk, TalkParticipant, TalkTrigger
    from service.talks.pairs import rebuild_pairs

    from werkzeug.security import generate_password_hash

    rng = random.Random(seed)
    password = generate_password_hash("correct horse 1")
    talk_settings()
    long_ago = date(2015, 1, 1)
    start = ON - timedelta(days=900)
    days = (ON - start).days
    db.session.execute(insert(Section), [dict(id=s, code=f"S{s}", name=f"第{s}科", min_base_staff=1)
                                         for s in range(1, SECTIONS + 1)])
    people, postings, oversights = [], [], []

    def person(pid, role, section):
        people.append(dict(id=pid, employee_no=f"U{pid:04d}", name=f"人{pid}", section_id=section, role=role,
                           joined_on=long_ago, work_started_on=long_ago, birthday_leap=False,
                           celebrations_opt_out=False, rotation_exempt=False, is_hr_admin=pid == 9,
                           email=f"u{pid}@unit.test", password_hash=password if pid in (1, 9) else None))

    def posting(pid, section, role, valid_from, valid_to=None, reason="hire"):
        postings.append(dict(person_id=pid, section_id=section, role=role, valid_from=valid_from,
                             valid_to=valid_to, reason=reason))

    head, deputies = 1, [2, 3, 4]
    person(head, "head", None)
    posting(head, None, "head", long_ago)
    for d in deputies:
        person(d, "deputy", None)
        posting(d, None, "deputy", long_ago)
    person(9, "staff", 1)  # HR
    posting(9, 1, "staff", long_ago)
    chiefs, members = {}, {s: [] for s in range(1, SECTIONS + 1)}
    pid = 10
    for s in range(1, SECTIONS + 1):
        chiefs[s] = pid
        person(pid, "chief", s)
        if s == 2:  # the chief changes: the old one becomes staff of section 3
            posting(pid, s, "chief", long_ago, ON - timedelta(days=100))
            posting(pid, 3, "staff", ON - timedelta(days=100), reason="move")
            pid += 1
            person(pid, "chief", s)
            posting(pid, s, "chief", ON - timedelta(days=100), reason="appointment")
        else:
            posting(pid, s, "chief", long_ago)
        pid += 1
        for _ in range(per_section):
            person(pid, "staff", s)
            r = rng.random()
            if r < 0.2:
                when = ON - timedelta(days=rng.randrange(500))
                to = 1 + rng.randrange(SECTIONS)
                posting(pid, s, "staff", long_ago, when)
                posting(pid, to, "staff", when, reason="move")
            elif r < 0.3:
                go = ON - timedelta(days=30 + rng.randrange(400))
                host = 1 + rng.randrange(SECTIONS)
                posting(pid, s, "staff", long_ago, go)
                posting(pid, host, "staff", go, go + timedelta(days=91), reason="rotation")
                posting(pid, s, "staff", go + timedelta(days=91), reason="rotation_return")
            else:
                posting(pid, s, "staff", long_ago)
            members[s].append(pid)
            pid += 1
    for s in range(1, SECTIONS + 1):
        d = deputies[s % len(deputies)]
        if s == 1:  # handed over to another deputy seven months ago
            handover = ON - timedelta(days=210)
            oversights.append(dict(deputy_id=d, section_id=s, valid_from=long_ago, valid_to=handover))
            oversights.append(dict(deputy_id=deputies[0] if d != deputies[0] else deputies[1], section_id=s,
                                   valid_from=handover))
        else:
            oversights.append(dict(deputy_id=d, section_id=s, valid_from=long_ago))
    db.session.execute(insert(Person), people)
    db.session.execute(insert(Posting), postings)
    db.session.execute(insert(Oversight), oversights)

    everyone = [p["id"] for p in people]
    leaders = [head, *deputies, *chiefs.values(), pid - 1]
    kinds = ["routine", "routine", "routine", "integrity", "reminder", "triggered", "pre_appointment"]
    talks, parts = [], []
    for tid in range(1, 1400):
        day = start + timedelta(days=rng.randrange(days + 1))
        r = rng.random()
        if r < 0.7:  # individual
            talkers = [rng.choice(leaders)]
            talked = [rng.choice(everyone)]
        elif r < 0.85:  # collective with a section
            talkers = [rng.choice(leaders)]
            talked = members[1 + rng.randrange(SECTIONS)][:]
        elif r < 0.93:  # two talkers, a small group not marked collective
            talkers = rng.sample(leaders, 2)
            talked = rng.sample(everyone, 2)
        else:  # two talkers with one person
            talkers = rng.sample(leaders, 2)
            talked = [rng.choice(everyone)]
        talked = [p for p in talked if p not in talkers]
        if not talked:
            continue
        status = "scheduled" if rng.random() < 0.05 else "held"
        talks.append(dict(id=tid, kind=rng.choice(kinds), status=status, held_on=day,
                          held_at=datetime(day.year, day.month, day.day, 9), duration_minutes=30, place="室",
                          topic="近况", collective=r >= 0.7 and r < 0.85 and rng.random() < 0.8, version=1))
        parts.extend(dict(talk_id=tid, person_id=p, role="talker") for p in talkers)
        parts.extend(dict(talk_id=tid, person_id=p, role="talked_to") for p in talked)
        if rng.random() < 0.2:
            parts.append(dict(talk_id=tid, person_id=rng.choice(everyone), role="recorder"))
    db.session.execute(insert(Talk), talks)
    db.session.execute(insert(TalkParticipant), parts)
    rebuild_pairs(db.session.connection())  # a bulk load bypasses the ORM: derive talk_pair as the app does
    db.session.execute(insert(TalkTrigger), [
        dict(person_id=rng.choice(everyone[4:]), event=rng.choice(["award", "penalty", "family_hardship",
                                                                   "appointment", "hospitalisation"]),
             on=ON - timedelta(days=rng.randrange(420)), section_id=None) for _ in range(40)])
    db.session.commit()
    return {"leaders": leaders, "head": head, "deputies": deputies, "chiefs": chiefs}


def straightforward(on: date, since: date | None = None):
    """Everyone's obligations the plain way: every held talk of the two years, the whole register."""
    from service.extensions import db
    from service.talks.cadence import DEFAULT_HORIZON_DAYS, TalkHeld, compute_obligations, red_letter_order
    from service.talks.loading import load_register, load_rules, load_triggers
    from service.talks.models import Talk

    since = since or on - timedelta(days=DEFAULT_HORIZON_DAYS)
    rules, trigger_rules = load_rules()
    memberships, oversights = load_register(since, on)
    talks = []
    for t in db.session.scalars(select(Talk).where(
            Talk.status == "held", Talk.held_on <= on, Talk.held_on >= since - timedelta(days=DEFAULT_HORIZON_DAYS))
            .order_by(Talk.held_on, Talk.id)).unique():
        talks.append(TalkHeld(t.id, t.held_on, t.kind, t.ids("talker"), t.ids("talked_to"), t.collective))
    return red_letter_order(compute_obligations(rules, trigger_rules, memberships, oversights, talks,
                                                load_triggers(since, on), on, since))


@pytest.mark.parametrize("seed", [3, 11])
def test_lean_loading_gives_exactly_the_straightforward_obligations(ctx, seed, monkeypatch):
    from service.talks import loading
    from service.talks.cadence import red_letter_key, red_letter_order
    from service.talks.loading import obligations, possible_talkers, load_rules, talker_obligations

    def total(o):
        return (red_letter_key(o), o.source, str(o.rule_id), str(o.trigger_id), o.talked_to_id)

    office = generate(seed)
    for on, since in ((ON, None), (ON - timedelta(days=45), None), (ON, date(2026, 6, 1)),
                      (ON - timedelta(days=200), ON - timedelta(days=300))):
        expected = straightforward(on, since)
        assert {o.status for o in expected} == {"done", "due", "overdue"}
        assert any(o.never_talked for o in expected) and any(o.source == "trigger" for o in expected)
        assert obligations(on, since=since) == expected
        mine = {}
        for o in expected:
            mine.setdefault(o.talker_id, []).append(o)
        low = since or on - timedelta(days=365)
        talkers = possible_talkers(low, on, *load_rules())
        assert set(mine) <= talkers
        # Talker by talker, in groups, and for one leader: each exactly that talker's share.
        # The head by blocks of people: of the default size (one block here) and of 7 people.
        for block in (loading.PEOPLE_BLOCK, 7):
            monkeypatch.setattr(loading, "PEOPLE_BLOCK", block)
            for group in (sorted(talkers), [office["head"]], office["deputies"], list(office["chiefs"].values())):
                for t, found in talker_obligations(on, group, since).items():
                    # Blocks change the core's order of ties: compare in a total order.
                    assert sorted(found, key=total) == sorted(mine.get(t, []), key=total), (t, block)
                    assert red_letter_order(found) == sorted(found, key=red_letter_key)
        for t in office["leaders"]:
            assert obligations(on, t, since=since) == mine.get(t, [])


def test_a_pair_that_talked_only_long_ago_has_talked_but_that_talk_settles_nothing(ctx):
    """The marker for talks before every window: "never talked" is false, nothing turns green."""
    from service.extensions import db
    from service.people.models import Person, Posting, Section
    from service.talks.loading import obligations, talk_settings
    from service.talks.models import Talk, TalkParticipant

    talk_settings()
    db.session.add(Section(id=1, code="S1", name="一科", min_base_staff=1))
    db.session.flush()
    for pid, role in ((1, "chief"), (2, "staff"), (3, "staff")):
        db.session.add(Person(id=pid, employee_no=f"P{pid}", name=f"人{pid}", section_id=1, role=role,
                              joined_on=date(2015, 1, 1), work_started_on=date(2015, 1, 1)))
        db.session.flush()
        db.session.add(Posting(person_id=pid, section_id=1, role=role, valid_from=date(2015, 1, 1), reason="hire"))
    old = ON - timedelta(days=500)  # in the year before the horizon, before every period
    db.session.add(Talk(id=1, kind="routine", status="held", held_on=old, held_at=datetime(old.year, old.month, old.day),
                        duration_minutes=30, place="室", topic="近况", collective=False, version=1,
                        participants=[TalkParticipant(person_id=1, role="talker"),
                                      TalkParticipant(person_id=2, role="talked_to")]))
    db.session.commit()
    found = [o for o in obligations(ON) if o.source == "cadence"]
    assert {o.talked_to_id for o in found} == {2, 3}
    assert all(o.status != "done" for o in found)
    assert {o.talked_to_id: o.never_talked for o in found} == {2: False, 3: True}
    assert found == [o for o in straightforward(ON) if o.source == "cadence"]


def test_the_weekly_email_streams_exactly_the_unit_obligations(ctx):
    """Per chunk, each leader's first items and "N more", and HR's overdue counts per leader, are
    those of the unit's obligations computed at once (what the fan-out did before)."""
    from service.digest.content import MAX_ITEMS
    from service.digest.loading import UnitTalks

    office = generate(5)
    ahead_end = ON + timedelta(days=13)
    expected = straightforward(ON)
    overdue, shown = Counter(), {}
    for o in expected:
        if o.status == "overdue":
            overdue[o.talker_id] += 1
        if o.status == "overdue" or (o.status == "due" and o.deadline <= ahead_end):
            shown.setdefault(o.talker_id, []).append(o)
    for items in shown.values():
        items.sort(key=lambda o: (not o.never_talked, -o.days_overdue, o.status != "overdue", o.deadline,
                                  o.talked_to_id))
    talks = UnitTalks(ON, ahead_end)
    leaders = office["leaders"]
    for chunk in (leaders[:3], leaders[3:7], leaders[7:]):
        talks.add_people([*chunk, 9, 40])
        for t in chunk:
            want = shown.get(t, [])
            got = talks.items_of(t)
            assert [(i.talked_to_id, i.deadline, i.status, i.days_overdue, i.never_talked) for i in got] == [
                (o.talked_to_id, o.deadline, o.status, o.days_overdue, o.never_talked) for o in want[:MAX_ITEMS]]
            assert talks.more.get(t, 0) == max(len(want) - MAX_ITEMS, 0)
    talks.unit_summary()
    assert talks.overdue == overdue and sum(overdue.values()) > 0


@pytest.fixture
def at_on(monkeypatch):
    import service.talks.web

    monkeypatch.setattr(service.talks.web, "unit_today", lambda: ON)


def test_hr_dashboard_tallies_exactly_the_unit_obligations(app, client, login, at_on):
    """HR's heatmap, trend and overdue-by-leader, tallied as the core streams, are those of the
    unit's obligations as a list (how the page counted before); the page renders them."""
    from collections import defaultdict

    from service.extensions import db
    from service.people.models import Person
    from service.talks.web import _hr_view, _months

    with app.test_request_context():
        generate(7)
        months = _months(ON, 6)
        found = straightforward(ON, since=months[0])
        section_of = dict(db.session.execute(select(Person.id, Person.section_id).where(Person.left_on.is_(None))).all())
        done, total, overdue = defaultdict(int), defaultdict(int), Counter()
        for o in found:
            if o.status == "overdue":
                overdue[o.talker_id] += 1
            if o.source != "cadence":
                continue
            for m in months:
                if o.period_start <= m <= o.period_end or (o.period_start.year, o.period_start.month) == (m.year, m.month):
                    total[(section_of.get(o.talked_to_id), m)] += 1
                    done[(section_of.get(o.talked_to_id), m)] += o.status == "done"
        hr = _hr_view(ON, months)
        assert hr["heat"] == {k: (done[k], total[k]) for k in total} and len(total) > 10
        assert dict(hr["leaders"]) == overdue and sum(overdue.values()) > 0
        for m, pct in hr["trend"]:
            n = sum(v for (s, mm), v in total.items() if mm == m)
            assert pct == (round(100 * sum(v for (s, mm), v in done.items() if mm == m) / n) if n else None)
    login("U0009")
    page = client.get("/talks/").get_data(as_text=True)
    assert 'id="heatmap"' in page and 'id="overdue-by-leader"' in page


def test_head_of_a_large_unit_sees_coverage_by_section_and_drills_into_one(app, client, login, at_on):
    """Over 400 people: one row per section (share of people talked with), each a link to that
    section's people; the section's page has one row per person, as a deputy's has."""
    import re

    from service.talks.web import _months, coverage

    with app.test_request_context():
        generate(9, per_section=70)
        mine = [o for o in straightforward(ON, since=_months(ON, 6)[0]) if o.talker_id == 1]
    login("U0001")
    page = client.get("/talks/").get_data(as_text=True)
    assert 'id="coverage-by-section"' in page and 'id="coverage"' not in page
    assert 'data-person=' not in page.split('id="coverage-by-section"')[1].split("</table>")[0]
    assert re.search(r'href="/talks/\?section=3"', page)
    shares = re.findall(r'<td class="cell">(\d+)%</td>', page)
    assert shares and all(0 <= int(x) <= 100 for x in shares)
    section = client.get("/talks/?section=3").get_data(as_text=True)
    rows = set(int(x) for x in re.findall(r'<tr data-person="(\d+)">', section))
    with app.test_request_context():
        from service.extensions import db
        from service.people.models import Person

        in_3 = set(db.session.scalars(select(Person.id).where(Person.section_id == 3)))
    expected = {o.talked_to_id for o in mine if o.talked_to_id in in_3}
    assert rows == expected and len(rows) > 50
    cells = coverage([o for o in mine if o.talked_to_id in in_3], _months(ON, 6), key=lambda o: o.talked_to_id)
    assert section.count('class="cell red"') == sum(1 for s in cells.values() if s == "overdue")
    assert 'id="all-sections"' in section
