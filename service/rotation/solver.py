"""The rotation solver (轮岗交流): who goes where each month, why, and how far from optimal.

The problem
-----------
Each month of the plan every participating section sends N people (``sends_per_month``, or the
section's own value in ``sends_by_section``) to other sections to learn their work. A posting is
(person, host section, month). Hard rules:

* sends: a section sends at most its N a month, and exactly its *local limit*
  ``d(s,t) = min(N, present(s,t) - min_base_staff, |eligible(s,t)|)`` whenever the plan can; 0 for
  a section that does not participate or that HR forbids that month. ``present`` is the headcount
  less staff on leave (candidates' approved leave and the section's ``absent`` count); hosted
  learners do not count towards a host's base force, so hosting changes nothing here.
* host capacity: a host receives at most K a month (``host_cap_per_month``); non-participating
  sections do not host.
* nobody goes to the same host twice (history ``hosts_visited`` and within the plan), nor to their
  own section, nor to a host closed by avoidance (``avoid_hosts``) or by an HR forbid.
* nobody is posted while exempt, in a month overlapped by approved leave, in the first M months
  after joining (months counted from the joining month), or in a month other than the one HR
  pinned them to.
* fairness: "nobody rotates twice before everyone eligible in the section has rotated once",
  made precise as: in each month, every posted person's key ``(rotation count so far, 0 if long
  tenure and not yet out in this plan else 1)`` is <= the key of every *eligible* member of the
  same section who is not posted that month. The count includes ``rotation_count`` (all postings
  before this plan), so fairness carries across plans. Eligible = available that month and at
  least one host would take them (capacity aside). Long tenure (``long_tenure_years`` in the
  same post) is the second key: such people go first among equals - the civil-service rule makes
  their rotation an obligation - but only once per plan, since a month's learning posting does
  not change their post and would otherwise put them first again at every round.
* pins are kept; a pin that breaks a rule checkable on its own is dropped and reported.

Shortfalls. A section-month sending fewer than ``d(s,t)`` pays ``weights.shortfall`` per missing
posting, so the solver always answers with its best plan. When ``d(s,t) < N`` the rule is doing
its job (e.g. the section is at its minimum base staff): that section-month is *excused* and
explained, and the plan can still be PROPOSED. When a plan sends fewer than ``d(s,t)`` (host
capacity, fairness order, exhausted hosts) or a pin breaks a rule, the plan is INFEASIBLE and
``reasons`` lists (rule, section, month, detail); the best partial plan is still returned.

Objective (minimised; every term >= 0 and 0 for an ideal posting, with no constant offset, so
the reported gap is not flattered by an unavoidable constant):

* recency: ``weights.recent * max(0, R - waited) / R`` where waited counts months since the last
  rotation (in this plan or before it; since joining if never) and R = ``recent_months``;
* pairing: ``weights.pair`` when the sender has encouraged exchange partners and the host is
  not one of them;
* spread: the j-th posting (j = 0, 1, ...) on a sender->host pair, counting history, costs
  ``weights.spread * j`` - convex, so repeated pairings get dearer;
* shortfall as above.

:func:`service.rotation.rules.plan_cost` computes this from the definition; the tests check
that the solver's objective equals it.

Heuristic
---------
A month is an assignment problem once earlier months are fixed: the choice of person only
changes the sending section's cost, so the best person for each (sender, host) can be folded
into one cost matrix (cheapest person of the sender's fairness tier allowed at that host) and a
linear sum assignment (scipy, with K copies of each host and dummy "unfilled" columns) solves
the month exactly. Months are filled in order (the baseline), then re-solved one at a time with
all other months fixed until a whole pass brings no improvement: a section may keep its person
and change host, or swap its person for another member of the same fairness tier who is posted
nowhere else in the plan, when the swap keeps every later month fair (checked exactly). Each
re-solve is exact for its month, so the objective never rises. With N > 1 the months are filled
one slot per section per round, and re-solves only move hosts.

Lower bound
-----------
The year's optimum is bounded below by splitting the objective into a person part and a host
part and relaxing the links between them (proof sketch; every step only enlarges the feasible
set or lowers a cost, so the minimum can only fall):

1. Any lawful plan costs at least ``sum a0(p,t) + sum b0(s,h) + shortfall``, where ``a0`` is the
   recency cost from the *pre-plan* history (a posting in the plan only shortens the wait, which
   raises recency) and ``b0 = pair + spread * history(s,h)`` is the first posting's marginal of
   the convex spread term (``sum_{j<n} (h0 + j) >= n * h0``).
2. Split ``shortfall`` = half + half. Person part A, per section: fill the section's slots
   (``d(s,t)`` per month) with people, each person at most ``u_p`` times, only in months where
   they are eligible on pre-plan data and where fairness could let them through: before p's
   j-th posting at month t, every other eligible member q must have reached p's key, which
   takes ``min(m_q, hosts q may still visit)`` earlier postings of q, and the section had at
   most ``sum_{t'<t} d(s,t')`` postings before t, j-1 of them p's own. Unfilled slots cost half a
   shortfall. Host part B, per month: fill the slots with hosts (K each), (s,h) allowed when some
   eligible member of s may go to h; unfilled slots cost the other half. Any lawful plan's
   postings, read per part, are feasible for A and for B with the same unfilled slots.
3. A and B are assignment problems (persons x month-slots per section; sections x host copies
   per month) solved exactly by linear sum assignment. So ``LB = A* + B* <= optimum``.
4. A is computed per section as chains instead (see :class:`_Chains`; ``lower_bound(...,
   chains=False)`` gives the assignment of steps 2-3, to measure the gain against): each slot
   is entered by a person's first posting or by the same person's previous posting in an
   earlier slot, so the wait of a repeated posting is measured between real slots (step 2
   measures it from the earliest month the previous posting could happen, for every person at
   once). The fairness order of first postings ("an eligible member with a lower key who has not
   rotated in the plan blocks the month") is kept as linear constraints and moved into the
   costs by Lagrange multipliers ``mu >= 0``: for any such multipliers the penalised
   assignment's minimum is <= the constrained minimum (weak duality), so every value is a bound;
   a few subgradient rounds per section raise it, aiming at the plan's own cost of the section,
   and the best round is kept. On the 500-section benchmark this closes most of the gap that
   steps 2-3 leave; the host part B was already tight there.
5. The shortfall may be split between A and B differently per section (any split of its weight
   is valid). Where A alone leaves slots empty (members who may visit one host only, say), A
   takes the whole weight and B none for that section, since B cannot see person-level limits.

The reported gap ``(objective - LB) / LB`` is therefore an upper bound on the true gap.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import replace
from typing import Iterable, Optional, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from . import rules as R
from .model import (
    BASE_STAFF, EXEMPT, FAIRNESS, FORBIDDEN, HIGHER_ROTATION_COUNT, HOST_CAPACITY, INFEASIBLE,
    LESS_SUITABLE, NEW_JOINER, NO_ALLOWED_HOST, NO_ELIGIBLE, NOT_PARTICIPATING, ON_LEAVE,
    PINNED_ELSEWHERE, POSTED_OTHER_MONTH, POSTED_THIS_MONTH, PROPOSED, SAME_HOST_TWICE,
    TENURE_ORDER, Forbid, Plan, PlanInput, Posting, Reason, Repair, Unfilled, WhatIf,
)

_AVAIL_CODES = (None, EXEMPT, ON_LEAVE, NEW_JOINER, FORBIDDEN, PINNED_ELSEWHERE)
_EPS = 1e-9


class _Model:
    """The input as arrays: persons P, sections S (also the hosts), months T."""

    def __init__(self, inp: PlanInput):
        rules = inp.rules
        w = rules.weights
        self.inp = inp
        # N per section (a plan may set it for some sections); self.N is the largest.
        self.Ns = np.array([R.sends_of(inp, s.id) for s in inp.sections], dtype=np.int64)
        self.N = int(self.Ns.max()) if len(self.Ns) else rules.sends_per_month
        self.K = rules.host_cap_per_month
        self.w = w
        months = tuple(inp.months)
        if any(R.month_ordinal(a) >= R.month_ordinal(b) for a, b in zip(months, months[1:])):
            raise ValueError("months must be strictly increasing")
        self.months = months
        self.T = T = len(months)
        self.tidx = {m: i for i, m in enumerate(months)}
        self.mord = np.array([R.month_ordinal(m) for m in months], dtype=np.int64)
        self.sections = tuple(inp.sections)
        self.sid = [s.id for s in self.sections]
        self.sidx = {s: i for i, s in enumerate(self.sid)}
        if len(self.sidx) != len(self.sid):
            raise ValueError("section ids must be unique")
        self.S = S = len(self.sid)
        cands = tuple(inp.candidates)
        self.cands = cands
        self.pid = [c.person_id for c in cands]
        self.pidx = {p: i for i, p in enumerate(self.pid)}
        if len(self.pidx) != len(self.pid):
            raise ValueError("person ids must be unique")
        self.P = P = len(cands)
        try:
            self.psec = np.array([self.sidx[c.section_id] for c in cands], dtype=np.int64)
        except KeyError as missing:
            raise ValueError(f"candidate in unknown section {missing}") from None
        self.members = [[] for _ in range(S)]
        for p, s in enumerate(self.psec):
            self.members[s].append(p)
        self.order = np.argsort(self.psec, kind="stable")  # persons grouped by section
        self.participating = np.array([s.participating for s in self.sections], dtype=bool)
        self.count0 = np.array([c.rotation_count for c in cands], dtype=np.int64)

        # Long tenure and months waited, per person and month.
        self.lt = np.ones((P, T), dtype=np.int64)  # 0 = long tenure (goes first), 1 = not
        self.waited0 = np.zeros((P, T), dtype=np.int64)
        join_ord = np.array([c.joined_on.year * 12 + c.joined_on.month - 1 for c in cands], dtype=np.int64)
        last_ord = np.array([R.month_ordinal(c.last_rotation_month) if c.last_rotation_month else -1
                             for c in cands], dtype=np.int64)
        last_ord = np.where(last_ord >= 0, last_ord, join_ord)
        self.waited0 = self.mord[None, :] - last_ord[:, None]
        sy = np.array([c.post_since.year for c in cands], dtype=np.int64)
        smd = np.array([c.post_since.month * 100 + c.post_since.day for c in cands], dtype=np.int64)
        for t, (y, mo) in enumerate(months):
            years = y - sy - (mo * 100 + 1 < smd)  # full years in post on the 1st of the month
            self.lt[years >= rules.long_tenure_years, t] = 0
        horizon = max(1, rules.recent_months)
        self.a0 = w.recent * np.maximum(0, horizon - self.waited0) / horizon

        # Forbids: static ones go into the matrices, month ones into small lookups.
        self.fb_pt = defaultdict(set)  # (p, t) -> hosts
        self.fb_st = defaultdict(set)  # (s, t) -> hosts
        person_off = np.zeros((P, T), dtype=bool)
        section_off = np.zeros((S, T), dtype=bool)
        section_host_off = np.zeros((S, S), dtype=bool)
        allowed = np.broadcast_to(self.participating, (P, S)).copy()
        allowed[np.arange(P), self.psec] = False
        for p, c in enumerate(cands):
            for h in c.hosts_visited:
                if h in self.sidx:
                    allowed[p, self.sidx[h]] = False
            for h in c.avoid_hosts:
                if h in self.sidx:
                    allowed[p, self.sidx[h]] = False
        for f in rules.forbids:
            ts = [self.tidx[f.month]] if f.month is not None else list(range(T))
            if f.month is not None and f.month not in self.tidx:
                continue
            if f.person_id is not None:
                p = self.pidx.get(f.person_id)
                if p is None or (f.section_id is not None and f.section_id != cands[p].section_id):
                    continue
                if f.host_id is None:
                    person_off[p, ts] = True
                elif f.host_id in self.sidx:
                    if f.month is None:
                        allowed[p, self.sidx[f.host_id]] = False
                    else:
                        self.fb_pt[(p, ts[0])].add(self.sidx[f.host_id])
            else:
                s = self.sidx.get(f.section_id)
                if s is None:
                    continue
                if f.host_id is None:
                    section_off[s, ts] = True
                    for p in self.members[s]:
                        person_off[p, ts] = True
                elif f.host_id in self.sidx:
                    h = self.sidx[f.host_id]
                    if f.month is None:
                        section_host_off[s, h] = True
                    else:
                        self.fb_st[(s, ts[0])].add(h)
        allowed &= ~section_host_off[self.psec]
        self.allowed = allowed
        self.n_allowed = np.repeat(allowed.sum(axis=1)[:, None], T, axis=1)
        for (p, t), hosts in self.fb_pt.items():
            self.n_allowed[p, t] = int(self._allowed_row(p, t).sum())
        for (s, t), hosts in self.fb_st.items():
            for p in self.members[s]:
                self.n_allowed[p, t] = int(self._allowed_row(p, t).sum())

        # Pins: drop those that break a rule on their own; the rest reserve their person.
        pins, self.pin_reasons = R.valid_pins(inp)
        self.pins = [(self.pidx[x.person_id], self.tidx[x.month], self.sidx[x.host_id]) for x in pins]
        reserved = np.zeros((P, T), dtype=bool)
        pinned_at = defaultdict(set)
        for p, t, h in self.pins:
            pinned_at[p].add(t)
        for p, ts in pinned_at.items():
            reserved[p] = True
            reserved[p, sorted(ts)] = False

        # Availability code per person-month (index into _AVAIL_CODES), then eligibility.
        code = np.zeros((P, T), dtype=np.int8)
        leave = np.zeros((P, T), dtype=bool)
        for p, c in enumerate(cands):
            for m in c.unavailable_months:
                if m in self.tidx:
                    leave[p, self.tidx[m]] = True
        new = (self.mord[None, :] - join_ord[:, None]) < rules.min_months_after_joining
        exempt = np.array([c.exempt for c in cands], dtype=bool)
        for k, mask in ((5, reserved), (4, person_off), (3, new), (2, leave), (1, exempt[:, None] & np.ones((1, T), bool))):
            code[mask] = k  # later assignments win: the earliest code in _AVAIL_CODES is reported
        self.avail_code = code
        self.E0 = (code == 0) & (self.n_allowed > 0)
        self.leave = leave

        # Local limits d(s,t) and why they fall below N.
        headcount = np.array([s.headcount if s.headcount is not None else len(self.members[i])
                              for i, s in enumerate(self.sections)], dtype=np.int64)
        absent = np.zeros((S, T), dtype=np.int64)
        for i, s in enumerate(self.sections):
            for m, n in s.absent.items():
                if m in self.tidx:
                    absent[i, self.tidx[m]] = n
        on_leave = np.zeros((S, T), dtype=np.int64)
        np.add.at(on_leave, self.psec, leave.astype(np.int64))
        self.present = headcount[:, None] - absent - on_leave
        min_base = np.array([s.min_base_staff for s in self.sections], dtype=np.int64)
        self.base_room = np.maximum(0, self.present - min_base[:, None])
        self.n_eligible = np.zeros((S, T), dtype=np.int64)
        np.add.at(self.n_eligible, self.psec, self.E0.astype(np.int64))
        d = np.minimum(self.Ns[:, None], np.minimum(self.base_room, self.n_eligible))
        d[~self.participating] = 0
        d[section_off] = 0
        self.d = d
        self.section_off = section_off
        self.min_base = min_base

        # Host costs: pairing and the first marginal of the spread term; inf = impossible pair.
        self.hist = np.zeros((S, S), dtype=np.int64)
        for (a, b), n in inp.history_pairs.items():
            if a in self.sidx and b in self.sidx:
                self.hist[self.sidx[a], self.sidx[b]] = n
        self.partner = np.zeros((S, S), dtype=bool)
        for a, b in rules.encouraged_pairs:
            if a in self.sidx and b in self.sidx and a != b:
                self.partner[self.sidx[a], self.sidx[b]] = self.partner[self.sidx[b], self.sidx[a]] = True
        has_partner = self.partner.any(axis=1)
        self.pair_cost = np.where(has_partner[:, None] & ~self.partner, w.pair, 0.0)
        b0 = self.pair_cost + w.spread * self.hist
        closed = np.eye(S, dtype=bool) | ~self.participating[None, :] | section_host_off
        self.b0 = np.where(closed, np.inf, b0)

    def _allowed_row(self, p: int, t: int) -> np.ndarray:
        """Hosts person p may visit in month t on pre-plan data (a fresh array when forbids apply)."""
        row = self.allowed[p]
        extra = self.fb_pt.get((p, t)) if self.fb_pt else None
        sextra = self.fb_st.get((int(self.psec[p]), t)) if self.fb_st else None
        if extra or sextra:
            row = row.copy()
            for h in (extra or ()):
                row[h] = False
            for h in (sextra or ()):
                row[h] = False
        return row

    def host_row(self, s: int, t: int) -> np.ndarray:
        """Host costs of section s in month t before spread from the plan (inf = closed)."""
        row = self.b0[s]
        extra = self.fb_st.get((s, t)) if self.fb_st else None
        if extra:
            row = row.copy()
            row[list(extra)] = np.inf
        return row


class _State:
    """A plan under construction: host index per (person, month), -1 when not posted."""

    def __init__(self, m: _Model):
        self.m = m
        self.post = np.full((m.P, m.T), -1, dtype=np.int64)
        self.pinned = np.zeros((m.P, m.T), dtype=bool)
        self.sent = [[[] for _ in range(m.T)] for _ in range(m.S)]
        self.load = np.zeros((m.S, m.T), dtype=np.int64)
        self.pair = np.zeros((m.S, m.S), dtype=np.int64)  # postings in the plan per sender->host
        self.n_posts = np.zeros(m.P, dtype=np.int64)

    def add(self, p: int, t: int, h: int, pinned: bool = False) -> None:
        s = int(self.m.psec[p])
        self.post[p, t] = h
        self.pinned[p, t] = pinned
        self.sent[s][t].append(p)
        self.load[h, t] += 1
        self.pair[s, h] += 1
        self.n_posts[p] += 1

    def remove(self, p: int, t: int) -> int:
        h = int(self.post[p, t])
        s = int(self.m.psec[p])
        self.post[p, t] = -1
        self.pinned[p, t] = False
        self.sent[s][t].remove(p)
        self.load[h, t] -= 1
        self.pair[s, h] -= 1
        self.n_posts[p] -= 1
        return h

    def counts_before(self) -> np.ndarray:
        """Rotation count of each person at the start of each month."""
        posted = (self.post >= 0).astype(np.int64)
        return self.m.count0[:, None] + np.cumsum(posted, axis=1) - posted

    def plan_hosts(self, p: int, skip_t: int = -1) -> list:
        if not self.n_posts[p]:
            return []
        row = self.post[p]
        return [int(row[u]) for u in np.flatnonzero(row >= 0) if u != skip_t]


def _key(m: _Model, cnt: np.ndarray, p: int, t: int) -> int:
    """Fairness key: rotations so far, then long tenure first unless already out in this plan."""
    return int(2 * cnt[p, t] + (m.lt[p, t] if cnt[p, t] == m.count0[p] else 1))


class _View:
    """Month t seen from the plan: who is eligible, their fairness key and recency cost."""

    def __init__(self, st: _State, t: int):
        m = st.m
        self.t = t
        self.cnt = cnt = st.counts_before()
        elig = m.E0[:, t].copy()
        # Someone posted in the plan may have used up every host they may visit.
        done = cnt[:, t] - m.count0
        for p in np.flatnonzero(elig & (done > 0) & (done >= m.n_allowed[:, t])):
            row = m._allowed_row(p, t).copy()
            row[[int(h) for h in st.post[p, :t] if h >= 0]] = False
            elig[p] = row.any()
        self.elig = elig
        self.key = 2 * cnt[:, t] + np.where(done > 0, 1, m.lt[:, t])
        if t:
            posted = st.post[:, :t] >= 0
            last = np.where(posted, np.arange(t), -1).max(axis=1)
            waited = m.mord[t] - m.mord[np.maximum(last, 0)]
            horizon = max(1, m.inp.rules.recent_months)
            fresh = m.w.recent * np.maximum(0, horizon - waited) / horizon
            self.rec = np.where(last >= 0, fresh, m.a0[:, t])
        else:
            self.rec = m.a0[:, 0]

    def lists(self, st: _State) -> tuple:
        """The month's columns as Python lists, for the per-person loops of the explanations."""
        if getattr(self, "_lists", None) is None:
            m = st.m
            self._lists = ((st.post[:, self.t] >= 0).tolist(), m.avail_code[:, self.t].tolist(),
                           self.elig.tolist(), self.key.tolist(), self.cnt[:, self.t].tolist(),
                           st.n_posts.tolist())
        return self._lists

    def tiers(self, st: _State, skip: Iterable[int] = ()) -> list:
        """Per section: members fairness lets through (eligible, not posted this month, lowest key)."""
        m = st.m
        free = self.elig & (st.post[:, self.t] < 0)
        for p in skip:
            free[p] = self.elig[p]
        key = np.where(free, self.key, np.iinfo(np.int64).max)
        lowest = np.full(m.S, np.iinfo(np.int64).max)
        np.minimum.at(lowest, m.psec, key)
        tier = free & (key == lowest[m.psec])
        chosen = m.order[tier[m.order]]
        cuts = np.searchsorted(m.psec[chosen], np.arange(m.S + 1))
        return [chosen[cuts[s]:cuts[s + 1]].tolist() for s in range(m.S)]


def _person_row(st: _State, p: int, t: int) -> np.ndarray:
    """Hosts p may visit in month t given the plan's other months (never the same host twice)."""
    row = st.m._allowed_row(p, t)
    if st.n_posts[p]:
        others = st.plan_hosts(p, skip_t=t)
        if others:
            row = row.copy()
            row[others] = False
    return row


def _rows(st: _State, t: int, secs: Sequence[int], cands: Sequence[Sequence[int]], rec: np.ndarray,
          open_hosts: np.ndarray):
    """Cost of each section sending its cheapest allowed candidate to each host, and who.

    Vectorised for the common case: the cheapest candidate may visit nearly every host, so one
    gathered row of the allowed matrix does; only the few hosts they may not visit are filled
    from the next candidates.
    """
    m = st.m
    secs_a = np.asarray(secs, dtype=np.int64)
    hosts = m.b0[secs_a].copy()
    if m.fb_st:
        for i, s in enumerate(secs):
            extra = m.fb_st.get((s, t))
            if extra:
                hosts[i, list(extra)] = np.inf
    todo = np.isfinite(hosts) & open_hosts[None, :]
    ordered = [sorted(c, key=rec.__getitem__) for c in cands]
    best = np.array([c[0] for c in ordered], dtype=np.int64)
    ok = m.allowed[best] & todo
    special = [i for i, p in enumerate(best) if st.n_posts[p] or (m.fb_pt and (int(p), t) in m.fb_pt)
               or (m.fb_st and (secs[i], t) in m.fb_st)]
    for i in special:
        ok[i] = _person_row(st, int(best[i]), t) & todo[i]
    row = np.where(ok, rec[best][:, None], np.inf)
    who = np.where(ok, best[:, None], -1)
    todo &= ~ok
    for i in np.flatnonzero(todo.any(axis=1)):
        for p in ordered[i][1:]:
            got = _person_row(st, p, t) & todo[i]
            row[i, got] = rec[p]
            who[i, got] = p
            todo[i] &= ~got
            if not todo[i].any():
                break
    return row + hosts + m.w.spread * st.pair[secs_a], who


def _assign(rows: np.ndarray, cap: np.ndarray, dummy: float):
    """Assignment of rows to hosts with capacities; returns host per row (-1 unfilled), cost.

    A dummy column per row stands for "unfilled" at cost ``dummy``. Unless ``exact``, a full
    assignment without dummies is tried first: when one exists it beats any with a dummy as long
    as a dummy costs more than a row's spread of costs (the shortfall weight is set so).
    """
    n = rows.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0.0
    col_host = np.repeat(np.arange(rows.shape[1]), np.maximum(cap, 0))
    useful = np.isfinite(rows).any(axis=0)
    col_host = col_host[useful[col_host]]
    if len(col_host) >= n:
        matrix = rows[:, col_host]
        try:
            r, c = linear_sum_assignment(matrix)
            cost = float(matrix[r, c].sum())
            if cost <= dummy:
                host = np.full(n, -1, dtype=np.int64)
                host[r] = col_host[c]
                return host, cost
        except ValueError:
            pass  # no full assignment: solve with the dummies
    matrix = np.concatenate([rows[:, col_host], np.full((n, n), dummy)], axis=1)
    r, c = linear_sum_assignment(matrix)  # inf cells are forbidden; the dummies keep it feasible
    host = np.full(n, -1, dtype=np.int64)
    real = c < len(col_host)
    host[r[real]] = col_host[c[real]]
    return host, float(matrix[r, c].sum())


def _fill_month(st: _State, t: int, sections: Optional[Iterable[int]] = None,
                avoid_later: bool = False) -> None:
    """Fill the open slots of month t, one slot per section per round, each round exact."""
    m = st.m
    only = None if sections is None else set(sections)
    for _ in range(m.N):
        view = _View(st, t)
        tiers = view.tiers(st)
        secs, cands = [], []
        open_hosts = st.load[:, t] < m.K
        for s in range(m.S):
            if (only is not None and s not in only) or len(st.sent[s][t]) >= m.d[s, t]:
                continue
            tier = tiers[s]
            if avoid_later:
                tier = [p for p in tier if not (st.post[p, t + 1:] >= 0).any()]
            if tier:
                secs.append(s)
                cands.append(tier)
        if not secs:
            return
        rows, whos = _rows(st, t, secs, cands, view.rec, open_hosts)
        hosts, _ = _assign(rows, m.K - st.load[:, t], m.w.shortfall)
        for s, who, h in zip(secs, whos, hosts):
            if h >= 0:
                st.add(int(who[h]), t, int(h))


def _swap_ok(st: _State, cnt: np.ndarray, s: int, t: int, p0: int) -> bool:
    """May p0's slot in month t go to someone else without breaking fairness later?

    Only if p0 has no other posting in the plan and, for each later month where s posts q, p0
    (one rotation fewer) would not be an eligible member with a lower key than q. ``cnt`` must
    be counted with p0's month-t posting removed.
    """
    m = st.m
    if st.n_posts[p0]:
        return False
    for u in range(t + 1, m.T):
        if not st.sent[s][u] or not m.E0[p0, u]:
            continue
        k0 = _key(m, cnt, p0, u)
        if any(_key(m, cnt, q, u) > k0 for q in st.sent[s][u]):
            return False
    return True


def _resolve_month(st: _State, t: int) -> float:
    """Re-solve month t with all other months fixed (N = 1). Returns the improvement (>= 0)."""
    m = st.m
    old = []  # (s, p0, h0) of unpinned postings
    for s in range(m.S):
        for p in list(st.sent[s][t]):
            if not st.pinned[p, t]:
                old.append((s, p, st.remove(p, t)))
    view = _View(st, t)
    cnt = view.cnt
    tiers = view.tiers(st)
    old_cost = 0.0
    current = {s: (p, h) for s, p, h in old}
    for s, p, h in old:
        old_cost += view.rec[p] + m.host_row(s, t)[h] + m.w.spread * st.pair[s, h]
    secs, cand_lists, keep = [], [], []
    open_hosts = st.load[:, t] < m.K
    later = (st.post[:, t + 1:] >= 0).any(axis=1)
    for s in range(m.S):
        if len(st.sent[s][t]) >= m.d[s, t]:
            continue
        if s in current:
            p0 = current[s][0]
            cands = [p0]
            if _swap_ok(st, cnt, s, t, p0) and p0 in tiers[s]:
                cands += [p for p in tiers[s] if p != p0 and not st.n_posts[p]]
        else:
            old_cost += m.w.shortfall
            cands = [p for p in tiers[s] if not later[p]]
        if not cands:
            continue
        secs.append(s)
        cand_lists.append(cands)
        keep.append(s in current)
    unplaced = sum(1 for s in range(m.S) if len(st.sent[s][t]) < m.d[s, t]) - len(secs)
    if secs:
        rows, whos = _rows(st, t, secs, cand_lists, view.rec, open_hosts)
    else:
        rows, whos = np.zeros((0, m.S)), np.zeros((0, m.S), dtype=np.int64)
    hosts, new_cost = _assign(rows, m.K - st.load[:, t], m.w.shortfall)
    new_cost += m.w.shortfall * unplaced
    lost = any(k and h < 0 for k, h in zip(keep, hosts))
    if new_cost < old_cost - 1e-7 and not lost:
        for s, who, h in zip(secs, whos, hosts):
            if h >= 0:
                st.add(int(who[h]), t, int(h))
        return old_cost - new_cost
    for s, p, h in old:
        st.add(p, t, h)
    return 0.0


def _resolve_hosts(st: _State, t: int) -> float:
    """Re-solve the hosts of month t with persons fixed (used when N > 1); exact objective check."""
    m = st.m
    before = _objective(st)
    old = [(p, st.remove(p, t)) for s in range(m.S) for p in list(st.sent[s][t]) if not st.pinned[p, t]]
    open_hosts = st.load[:, t] < m.K
    rec = _View(st, t).rec
    if old:
        rows, _ = _rows(st, t, [int(m.psec[p]) for p, _ in old], [[p] for p, _ in old], rec, open_hosts)
    else:
        rows = np.zeros((0, m.S))
    hosts, _ = _assign(rows, m.K - st.load[:, t], m.w.shortfall)
    if all(h >= 0 for h in hosts):
        for (p, _), h in zip(old, hosts):
            st.add(p, t, int(h))
        after = _objective(st)
        if after < before - 1e-7:
            return before - after
        for p, _ in old:
            st.remove(p, t)
    for p, h in old:
        st.add(p, t, h)
    return 0.0


def _recency_all(st: _State) -> np.ndarray:
    """Recency cost of posting each person in each month, given the plan's earlier months."""
    m = st.m
    out = m.a0.copy()
    posted = st.post >= 0
    for t in range(1, m.T):
        last = np.where(posted[:, :t], np.arange(t), -1).max(axis=1)
        has = last >= 0
        if has.any():
            out[has, t] = _recency(m, m.mord[t] - m.mord[last[has]])
    return out


def _objective(st: _State) -> float:
    """The objective of the state, from the same definition as rules.plan_cost, on arrays."""
    m = st.m
    ps, ts = np.nonzero(st.post >= 0)
    total = float(_recency_all(st)[ps, ts].sum())
    hosts = st.post[ps, ts]
    total += float(m.pair_cost[m.psec[ps], hosts].sum())
    n = st.pair
    total += m.w.spread * float((n * m.hist + n * (n - 1) / 2).sum())
    sent = np.array([[len(x) for x in row] for row in st.sent]).reshape(m.S, m.T)
    total += m.w.shortfall * float(np.maximum(0, m.d - sent).sum())
    return total


def _place_pins(st: _State) -> None:
    for p, t, h in st.m.pins:
        st.add(p, t, h, pinned=True)


def _improve(st: _State, max_passes: int, deadline: Optional[float]) -> int:
    passes = 0
    while passes < max_passes and (deadline is None or time.perf_counter() < deadline):
        passes += 1
        gained = 0.0
        for t in range(st.m.T):
            gained += _resolve_month(st, t) if st.m.N == 1 else _resolve_hosts(st, t)
        if gained <= 1e-7:
            break
    return passes


# --- lower bound ------------------------------------------------------------------------------

def _fairness_need(m: _Model, s: int, j: int) -> np.ndarray:
    """Members x months: postings of others that must precede a member's (j+1)-th posting.

    Before p is posted with key k_p = 2 (c_p + j) + lt_p (lt_p = 1 once out in this plan), each
    other eligible q must have key >= k_p: none if 2 c_q + lt_q >= k_p already, else the m >= 1
    postings that bring 2 (c_q + m) + 1 to k_p - or fewer if q runs out of hosts first - unless q
    is posted in the same month (at most d(s,t) - 1 of them), which needs none.
    """
    mem = np.array(m.members[s], dtype=np.int64)
    e = m.E0[mem].T  # T x n
    lt = m.lt[mem].T  # T x n
    c = m.count0[mem]
    kp = 2 * (c[None, :] + j) + (lt if j == 0 else 1)  # T x p
    kq = 2 * c[None, :] + lt  # T x q
    more = np.maximum(1, -((2 * c[None, None, :] + 1 - kp[:, :, None]) // 2))  # ceil((kp-1)/2 - c_q)
    raw = np.where(kq[:, None, :] >= kp[:, :, None], 0, more)  # T x p x q
    need = np.minimum(raw, m.n_allowed[mem].T[:, None, :]) * e[:, None, :]
    idx = np.arange(len(mem))
    need[:, idx, idx] = 0
    total = need.sum(axis=2)  # T x p
    # With N > 1, up to d(s,t) - 1 others may be posted in the same month as p: fairness does
    # not compare posted people with each other, so those need no earlier postings. Dropping
    # the largest such needs keeps the condition a relaxation (the bound stays valid).
    extra = np.maximum(0, m.d[s] - 1)
    if extra.any():
        ranked = -np.sort(-need, axis=2)  # T x p x q, largest first
        cum = np.concatenate([np.zeros(ranked.shape[:2] + (1,), dtype=ranked.dtype),
                              np.cumsum(ranked, axis=2)], axis=2)
        k = np.minimum(extra, ranked.shape[2])[:, None, None]
        total = total - np.take_along_axis(cum, np.broadcast_to(k, ranked.shape[:2] + (1,)), axis=2)[:, :, 0]
    return total.T


def _recency(m: _Model, waited: np.ndarray) -> np.ndarray:
    horizon = max(1, m.inp.rules.recent_months)
    return m.w.recent * np.maximum(0, horizon - waited) / horizon


def _bound_persons(m: _Model, s: int, target: Optional[float] = None, rounds: int = 0,
                   chains: bool = True, share: Optional[float] = None) -> float:
    """Part A of the bound for one section.

    ``chains`` (the default): the path cover with the fairness order priced in, see
    :class:`_Chains`. Otherwise the earlier, weaker bound "by postings" (kept to measure the gain
    against): people into the section's month slots by exact assignment. Column = the (j+1)-th
    posting of a member, allowed only in months where fairness could let it through. Its cost is
    the recency from pre-plan data for j = 0; for j >= 1 the person rotated inside the plan no
    earlier than the first month their j-th posting could happen, so they waited at most since
    then, and recency falls with waiting: a valid lower bound.

    Both use the same necessary condition for a first posting to happen: before it, in month t,
    the section's earlier slots must hold the postings that bring every other eligible member up
    to p's key (:func:`_fairness_need`).
    """
    slots = np.array([t for t in range(m.T) for _ in range(int(m.d[s, t]))], dtype=np.int64)
    half = m.w.shortfall / 2 if share is None else share  # what an unfilled slot costs here
    if not len(slots):
        return 0.0
    mem = m.members[s]
    if not mem:
        return half * len(slots)
    cap_before = np.concatenate([[0], np.cumsum(m.d[s])[:-1]])
    months = np.arange(m.T)
    cols = []
    first_prev = None
    for j in range(1 if chains else m.T):
        need = _fairness_need(m, s, j)  # members x T
        ok = m.E0[mem] & (need <= (cap_before[None, :] - j))
        if j == 0:
            cost = m.a0[mem]
            if chains:
                # A later posting in t is by a member eligible in t whose first posting may come
                # in an earlier month and who may visit two hosts at all (never one host twice).
                began = np.concatenate([np.zeros((len(mem), 1), dtype=bool),
                                        np.logical_or.accumulate(ok, axis=1)[:, :-1]], axis=1)
                twice = m.allowed[mem].sum(axis=1) >= 2
                later = (m.E0[mem] & began & twice[:, None]).any(axis=0)
                return _Chains(m, s, slots, np.asarray(mem), np.where(ok, cost, np.inf), later,
                               half).best(target, rounds)
        else:
            ok &= months[None, :] > first_prev[:, None]
            waited = m.mord[None, :] - m.mord[np.minimum(first_prev, m.T - 1)][:, None]
            cost = _recency(m, waited)
        has = ok.any(axis=1)
        if not has.any():
            break
        cols.append(np.where(ok[has], cost[has], np.inf))
        first_prev = np.where(has, np.argmax(ok, axis=1), m.T)
    n = len(slots)
    people = np.concatenate(cols, axis=0)[:, slots].T if cols else np.zeros((n, 0))
    cost = np.concatenate([people, np.full((n, n), half)], axis=1)
    r, c = linear_sum_assignment(cost)
    return float(cost[r, c].sum())


class _Chains:
    """Part A of the bound for one section as a path cover of its month slots, with the fairness
    order of first postings moved into the costs by Lagrange multipliers.

    Each posting a person makes in the plan is their first (cost a0 from pre-plan data, in a
    month the first-posting columns allow) or follows their own previous posting in an earlier
    slot of the section, costing the recency of the months between exactly. So the postings of
    a lawful plan in this section form chains: every filled slot has one predecessor (a person,
    or an earlier filled slot), and each person and each slot precedes at most one slot. Rows =
    slots, columns = persons + slots; a row takes a person (first posting), an earlier slot's
    column (the same person's next posting) or its own column (unfilled, half a shortfall), so
    an empty slot has no successor. Forgetting who walks a chain after its first posting only
    enlarges the feasible set; a later posting is allowed only after a month where some
    member's first posting may happen.

    Fairness, kept as linear constraints: a member q with pre-plan key k_q(t) = 2 c_q + lt_q(t)
    who is eligible in month t (pre-plan eligibility is exact while q has not rotated in the
    plan) and has no posting in the plan up to t blocks, in month t, the first posting of every
    p with k_p(t) > k_q(t) and every later posting (its key is at least 2 (c_min + 1) + 1, c_min
    the section's lowest count). So for each such (q, t):

        (postings in t blocked by q)  <=  d(s,t) * [q's first posting is in a month <= t].

    Every lawful plan satisfies these. For multipliers mu >= 0 the assignment with costs
    c + mu * (lhs - rhs) has a minimum <= that of the constrained problem (the added term is
    <= 0 on its solutions; weak duality), so each round's value is a valid bound; the best is
    kept. Rounds are subgradient steps (Polyak, aiming at ``target``, the plan's own cost).

    (Counting constraints on repeated postings were tried too: the LP relaxation barely moves,
    though the integer program of the same relaxation often reaches the section's optimum.)
    """

    def __init__(self, m: _Model, s: int, slots: np.ndarray, mem: np.ndarray, first: np.ndarray,
                 later: np.ndarray, half: float):
        self.n = n = len(slots)
        self.slots = slots
        self.k = k = len(mem)
        self.first = first[:, slots].T  # slot x member
        gaps = m.mord[slots][:, None] - m.mord[slots][None, :]  # row slot minus predecessor slot
        self.chain = np.where((gaps > 0) & later[slots][:, None], _recency(m, gaps), np.inf)
        # A slot left unfilled takes its own column: nobody follows on from an empty slot.
        self.chain[np.arange(n), np.arange(n)] = half
        self.half = half
        self.d = m.d[s].astype(float)
        # key[t, q] for members; blocks[t, q, p]: unposted eligible q blocks p's first posting
        key = (2 * m.count0[mem][None, :] + m.lt[mem].T)
        cmin = int(m.count0[m.members[s]].min())
        blocks = key[:, None, :] > key[:, :, None]
        self.blocks = blocks.astype(float)  # T x q x p
        self.blocks_later = (key < 2 * (cmin + 1) + 1).astype(float)  # T x q
        active = m.E0[mem].T & (m.d[s] > 0)[:, None]  # T x q
        self.active = active & (blocks.any(axis=2) | (self.blocks_later > 0))
        self.on = self.active.astype(float)
        self.mu = np.zeros((m.T, k))
        self.T = m.T
        self.d_col = self.d[:, None]
        self.cost = np.concatenate([self.first, self.chain], axis=1)

    def value(self) -> tuple:
        """The bound for the current multipliers and the subgradient at them."""
        mu, n, k, slots = self.mu, self.n, self.k, self.slots
        on_first = np.matmul(mu[:, None, :], self.blocks)[:, 0, :]  # T x p
        on_later = (mu * self.blocks_later).sum(axis=1)  # T
        credit = np.cumsum((mu * self.d_col)[::-1], axis=0)[::-1]  # T x q: sum over t >= t'
        cost = self.cost
        np.add(self.first, (on_first - credit)[slots], out=cost[:, :k])
        np.add(self.chain, on_later[slots][:, None], out=cost[:, k:k + n])
        r, c = linear_sum_assignment(cost)
        value = float(cost[r, c].sum())
        t_of = slots[r]
        firsts = np.zeros((self.T, k))
        who = c < k
        firsts[t_of[who], c[who]] = 1.0  # each member's first posting at most once
        laters = np.bincount(t_of[(c >= k) & (c - k != r)], minlength=self.T)
        g = np.matmul(self.blocks, firsts[:, :, None])[:, :, 0]
        g += self.blocks_later * laters[:, None]
        g -= self.d_col * np.cumsum(firsts, axis=0)  # d(s,t) once q's first posting is in a month <= t
        g *= self.on
        return value, g

    def best(self, target: Optional[float], rounds: int) -> float:
        value, g = self.value()
        best = value
        if not self.active.any():
            return best
        theta, stall = 1.0, 0
        goal = target if target is not None else best + 1.0
        for _ in range(rounds):
            if goal - best <= 1e-9:
                break
            g = np.where((self.mu > 0) | (g > 0), g, 0.0)  # projected on mu >= 0
            norm = float((g * g).sum())
            if norm == 0:
                break  # the relaxed optimum keeps every fairness constraint: nothing to gain
            self.mu = np.maximum(0.0, self.mu + theta * (goal - value) / norm * g)
            value, g = self.value()
            if value > best + 1e-9:
                best, stall = value, 0
            else:
                stall += 1
                if stall >= 3:
                    theta, stall = theta / 2, 0
                    if theta < 1e-3:
                        break
            if target is None:
                goal = max(goal, best + 0.5 * (goal - best))
        return best


def _bound_hosts(m: _Model, t: int, reach: np.ndarray, unfilled: np.ndarray) -> float:
    """Part B of the bound, by month: section slots into host copies (exact, with capacity K).
    ``unfilled[s]``: what leaving a slot of section s empty costs in this part."""
    secs = [s for s in range(m.S) for _ in range(int(m.d[s, t]))]
    if not secs:
        return 0.0
    rows = np.array([np.where(reach[s], m.host_row(s, t), np.inf) for s in secs])
    dummy = unfilled[secs]
    if (dummy == dummy[0]).all():
        return _assign(rows, np.full(m.S, m.K), float(dummy[0]))[1]
    col_host = np.repeat(np.arange(m.S), m.K)
    col_host = col_host[np.isfinite(rows).any(axis=0)[col_host]]
    n = len(secs)
    matrix = np.concatenate([rows[:, col_host], np.repeat(dummy[:, None], n, axis=1)], axis=1)
    r, c = linear_sum_assignment(matrix)
    return float(matrix[r, c].sum())


def _bound_hosts_year(m: _Model, s: int, reach: np.ndarray, unfilled: float) -> float:
    """Part B of the bound, by section over the year: the convex spread counted exactly,
    host capacity relaxed. The (j+1)-th posting to h costs pair + spread * (history + j).

    Only each slot's n cheapest hosts can matter (n = number of slots): a slot placed elsewhere
    could move to one of its n cheapest that no other slot uses, at no higher cost.
    """
    slots = [t for t in range(m.T) for _ in range(int(m.d[s, t]))]
    n = len(slots)
    if not n:
        return 0.0
    rows = np.array([np.where(reach[t, s], m.host_row(s, t), np.inf) for t in slots])
    k = min(n, m.S)
    near = np.argpartition(rows, k - 1, axis=1)[:, :k] if k < m.S else np.tile(np.arange(m.S), (n, 1))
    hosts = np.unique(near)
    hosts = hosts[np.isfinite(rows[:, hosts]).any(axis=0)]
    extra = m.w.spread * np.arange(n)
    block = rows[:, hosts][:, :, None] + extra[None, None, :]  # slot x host x copy
    cost = np.concatenate([block.reshape(n, -1), np.full((n, n), unfilled)], axis=1)
    r, c = linear_sum_assignment(cost)
    return float(cost[r, c].sum())


def _section_costs(st: _State) -> np.ndarray:
    """Per section: the plan's own person part (recency + half a shortfall per unfilled slot).

    Only an aim for the bound's subgradient steps (it is >= the bound's person part, whose
    relaxation every lawful plan is feasible for); the bound's validity does not depend on it.
    """
    m = st.m
    ps, ts = np.nonzero(st.post >= 0)
    out = np.zeros(m.S)
    np.add.at(out, m.psec[ps], _recency_all(st)[ps, ts])
    sent = np.array([[len(x) for x in row] for row in st.sent]).reshape(m.S, m.T)
    return out + m.w.shortfall / 2 * np.maximum(0, m.d - sent).sum(axis=1)


def _lower_bound(m: _Model, st: Optional[_State] = None, rounds: int = 12, chains: bool = True) -> float:
    """A + max(B by month, B by section); see the module docstring for why each is valid.

    With the plan's state, A's Lagrangian rounds aim at the plan's own per-section costs.
    ``chains=False`` gives the earlier bound (A by postings), to measure against.
    """
    half = m.w.shortfall / 2
    aims = _section_costs(st) if st is not None else [None] * m.S
    persons = np.array([_bound_persons(m, s, aims[s], rounds, chains) for s in range(m.S)])
    # The shortfall may be split between A and B differently per section (any split of the
    # weight is valid). Where A alone already leaves slots empty (members who can go nowhere
    # more), A takes the whole weight and B none: B cannot see person-level limits.
    unfilled = np.full(m.S, half)
    for s in np.flatnonzero(persons >= half - 1e-9):
        aim = None if aims[s] is None else aims[s] + (aims[s] // half) * half
        whole = _bound_persons(m, s, aim, rounds, chains, share=m.w.shortfall)
        if whole > persons[s] + half - 1e-9:  # worth more than B could lose on this section
            persons[s], unfilled[s] = whole, 0.0
    starts = np.searchsorted(m.psec[m.order], np.arange(m.S))
    nonempty = np.array([len(x) > 0 for x in m.members], dtype=bool)
    reach = np.zeros((m.T, m.S, m.S), dtype=bool)  # month, sender, host: some eligible member may go
    for t in range(m.T):
        can = m.E0[:, t][:, None] & m.allowed
        for (p, u), hosts in m.fb_pt.items():
            if u == t:
                can[p, list(hosts)] = False
        if m.P:  # OR over each section's members (starts of non-empty sections increase strictly)
            reach[t][nonempty] = np.logical_or.reduceat(can[m.order], starts[nonempty], axis=0)
    by_month = sum(_bound_hosts(m, t, reach[t], unfilled) for t in range(m.T))
    by_section = sum(_bound_hosts_year(m, s, reach, unfilled[s]) for s in range(m.S))
    return float(persons.sum() + max(by_month, by_section))


def lower_bound(plan_input: PlanInput, *, chains: bool = True) -> float:
    """A proven lower bound on the objective of every lawful plan (see the module docstring).

    ``chains=False`` gives the earlier, weaker bound, for comparison.
    """
    return _lower_bound(_Model(plan_input), chains=chains)


# --- explanations -----------------------------------------------------------------------------

def _explain_posting(st: _State, view: _View, p: int, t: int, h: int, pair_before: int,
                     load: int) -> dict:
    """Why this person and why this host, as codes and numbers (the app words them)."""
    m = st.m
    s = int(m.psec[p])
    c = m.cands[p]
    cnt = view.cnt
    key = int(view.key[p])
    excluded = defaultdict(list)
    lists = view.lists(st)
    posted, avail, elig, keys, counts, n_posts = lists
    for q in m.members[s]:
        if q == p:
            continue
        a = avail[q]
        if posted[q]:
            code = POSTED_THIS_MONTH
        elif a:
            code = _AVAIL_CODES[a]
        elif not elig[q]:
            code = NO_ALLOWED_HOST
        elif keys[q] > key:
            code = HIGHER_ROTATION_COUNT if counts[q] > counts[p] else TENURE_ORDER
        elif n_posts[q]:
            code = POSTED_OTHER_MONTH
        else:
            code = LESS_SUITABLE
        excluded[code].append(m.pid[q])
    last = [u for u in range(t) if st.post[p, u] >= 0]
    waited = int(m.mord[t] - m.mord[last[-1]]) if last else int(m.waited0[p, t])
    rec = float(view.rec[p])
    pair = float(m.pair_cost[s, h])
    spread = m.w.spread * pair_before
    return {
        "person": {
            "rotation_count": int(cnt[p, t]),
            "months_since_last_rotation": waited,
            "never_rotated": bool(not last and c.last_rotation_month is None and c.rotation_count == 0),
            "long_tenure": bool(m.lt[p, t] == 0),
            "years_in_post": R.years_in_post(c, m.months[t]),
            "recency_cost": rec,
            "excluded": dict(excluded),
        },
        "host": {
            "visited_before": False,
            "capacity": m.K,
            "received_this_month": load,
            "pair_count_before": pair_before,
            "encouraged_pair": bool(m.partner[s, h]),
            "pair_cost": pair,
            "spread_cost": spread,
        },
        "cost": rec + pair + spread,
    }


def _unfilled_for(st: _State, view: _View, tiers: list, s: int, t: int) -> list:
    """Unfilled entries for a section-month sending fewer than N."""
    m = st.m
    sent = len(st.sent[s][t])
    out = []
    month = m.months[t]
    sid = m.sid[s]
    d = int(m.d[s, t])
    n = int(m.Ns[s])
    if d < n:
        if not m.participating[s]:
            rule, detail = NOT_PARTICIPATING, {}
        elif m.section_off[s, t]:
            rule, detail = FORBIDDEN, {}
        elif m.base_room[s, t] <= m.n_eligible[s, t]:
            rule, detail = BASE_STAFF, {"present": int(m.present[s, t]),
                                        "min_base_staff": int(m.min_base[s])}
        else:
            excluded = defaultdict(list)
            for p in m.members[s]:
                if not m.E0[p, t]:
                    a = int(m.avail_code[p, t])
                    excluded[_AVAIL_CODES[a] if a else NO_ALLOWED_HOST].append(m.pid[p])
            rule, detail = NO_ELIGIBLE, {"excluded": dict(excluded)}
        out.append(Unfilled(sid, month, n - max(d, sent), rule, True, detail))
    if sent < d:
        tier = tiers[s]
        if not tier:
            rule = SAME_HOST_TWICE
        else:
            full = []
            for p in tier:
                row = _person_row(st, p, t)
                full.append(bool(row.any()) and bool((st.load[row, t] >= m.K).all()))
            rule = HOST_CAPACITY if all(full) else FAIRNESS
        out.append(Unfilled(sid, month, d - sent, rule, False, {"tier": [m.pid[p] for p in tier]}))
    return out


def _finish(st: _State, started: float, explain: bool, bound: Optional[float], extra_reasons=(),
            stats: Optional[dict] = None) -> Plan:
    m = st.m
    postings = []
    unfilled = []
    pair_run = m.hist.copy()
    load_run = np.zeros((m.S, m.T), dtype=np.int64)
    short = [(s, t) for s in range(m.S) for t in range(m.T) if len(st.sent[s][t]) < m.Ns[s]]
    for t in range(m.T):
        view = _View(st, t) if explain or any(u == t for _, u in short) else None
        for s in range(m.S):
            for p in st.sent[s][t]:
                h = int(st.post[p, t])
                load_run[h, t] += 1
                if explain:
                    ex = _explain_posting(st, view, p, t, h, int(pair_run[s, h]), int(load_run[h, t]))
                    cost = ex["cost"]
                else:
                    ex = {}
                    cost = float(st.m.a0[p, t]) if not st.n_posts[p] else 0.0
                pair_run[s, h] += 1
                postings.append(Posting(m.pid[p], m.sid[s], m.sid[h], m.months[t], cost,
                                        bool(st.pinned[p, t]), ex))
        secs = [s for s, u in short if u == t]
        if secs:
            tiers = view.tiers(st)
            for s in secs:
                unfilled.extend(_unfilled_for(st, view, tiers, s, t))
    if not explain:  # costs without the explanation pass: recency from the plan, pair, spread
        rec = _recency_all(st)
        pair_run = m.hist.copy()
        fixed = []
        for x in postings:
            p, t, s, h = m.pidx[x.person_id], m.tidx[x.month], m.sidx[x.section_id], m.sidx[x.host_id]
            cost = float(rec[p, t]) + float(m.pair_cost[s, h]) + m.w.spread * int(pair_run[s, h])
            pair_run[s, h] += 1
            fixed.append(replace(x, cost=cost))
        postings = fixed
    unfilled.sort(key=lambda u: (u.section_id, u.month))
    reasons = list(m.pin_reasons) + list(extra_reasons)
    reasons += [Reason(u.rule, u.section_id, u.month, {"missing": u.missing, **u.detail})
                for u in unfilled if not u.excused]
    if m.pins:  # only pins can make the solver's own plan break a rule; say which
        reasons += list(R.violations(m.inp, postings))
    objective = _objective(st)
    lb = bound if bound is not None else float("nan")
    gap = (objective - lb) / lb if lb and lb > 0 else (0.0 if objective <= lb + 1e-9 else None)
    info = dict(stats or {})
    info["seconds"] = time.perf_counter() - started
    return Plan(INFEASIBLE if reasons else PROPOSED, tuple(postings), tuple(unfilled), tuple(reasons),
                objective, lb, gap, info)


# --- public API -------------------------------------------------------------------------------

def solve(plan_input: PlanInput, *, improve: bool = True, max_passes: int = 12,
          time_limit: Optional[float] = None, explain: bool = True, bound: bool = True) -> Plan:
    """Propose a rotation plan (or report why none is complete), with costs and explanations.

    ``improve=False`` gives the month-by-month baseline. ``time_limit`` (seconds) caps the
    re-solve passes; the plan stays lawful whenever they stop. ``bound`` computes the lower bound
    and the gap in the same run (``stats`` holds the baseline objective, passes and timings).
    """
    started = time.perf_counter()
    m = _Model(plan_input)
    st = _State(m)
    _place_pins(st)
    for t in range(m.T):
        _fill_month(st, t)
    stats = {"baseline_objective": _objective(st), "passes": 0}
    stats["baseline_seconds"] = time.perf_counter() - started
    if improve:
        deadline = started + time_limit if time_limit else None
        stats["passes"] = _improve(st, max_passes, deadline)
    stats["solve_seconds"] = time.perf_counter() - started
    lb = None
    if bound:
        t0 = time.perf_counter()
        lb = _lower_bound(m, st)
        stats["bound_seconds"] = time.perf_counter() - t0
    return _finish(st, started, explain, lb, stats=stats)


def plan_postings(plan: Plan) -> list:
    """The postings of a plan without explanations, e.g. to approve or compare them."""
    return [replace(p, explanation={}) for p in plan.postings]


def _load(st: _State, postings: Sequence[Posting]) -> list:
    """Put postings into the state as fixed; returns those that could not be placed."""
    m = st.m
    pinned = {(p, t) for p, t, _ in m.pins}
    left = []
    for x in postings:
        p, t, h = m.pidx.get(x.person_id), m.tidx.get(x.month), m.sidx.get(x.host_id)
        if p is None or t is None or h is None or st.post[p, t] >= 0:
            left.append(x)
            continue
        if (p, t) in pinned:
            continue
        st.add(p, t, h, pinned=x.pinned)
    return left


def _settle(st: _State, affected: set, rounds: int = 8) -> list:
    """Drop postings that break rules, refill the touched section-months; repeat until lawful.

    Returns the postings removed. Fills only the touched section-months, so the repair is local.
    """
    m = st.m
    removed = []
    for _ in range(rounds):
        current = _postings_of(st)
        broken = [r for r in R.violations(m.inp, current)]
        if not broken:
            break
        for r in broken:
            pid = r.detail.get("person_id")
            p = m.pidx.get(pid)
            if r.month is None or p is None:
                # e.g. same host twice across months: drop the later posting of that host
                if p is not None and r.detail.get("host_id") in m.sidx:
                    h = m.sidx[r.detail["host_id"]]
                    ts = [t for t in range(m.T) if st.post[p, t] == h and not st.pinned[p, t]]
                    if ts:
                        t = ts[-1]
                        removed.append((p, t, st.remove(p, t)))
                        affected.add((int(m.psec[p]), t))
                continue
            t = m.tidx.get(r.month)
            if t is not None and st.post[p, t] >= 0 and not st.pinned[p, t]:
                removed.append((p, t, st.remove(p, t)))
                affected.add((int(m.psec[p]), t))
            elif r.section_id in m.sidx and t is not None and r.rule in (BASE_STAFF, HOST_CAPACITY):
                s = m.sidx[r.section_id]
                pool = st.sent[s][t] if r.rule == BASE_STAFF else [
                    p for x in range(m.S) for p in st.sent[x][t] if st.post[p, t] == s]
                pool = [p for p in pool if not st.pinned[p, t]]
                if pool:
                    p = pool[-1]
                    removed.append((p, t, st.remove(p, t)))
                    affected.add((int(m.psec[p]), t))
        for t in range(m.T):
            secs = {s for s, u in affected if u == t}
            if secs:
                _fill_month(st, t, secs, avoid_later=True)
    return removed


def _postings_of(st: _State) -> list:
    m = st.m
    ps, ts = np.nonzero(st.post >= 0)
    return [Posting(m.pid[p], m.sid[m.psec[p]], m.sid[st.post[p, t]], m.months[t], 0.0,
                    bool(st.pinned[p, t])) for p, t in zip(ps, ts)]


def repair(plan_input: PlanInput, approved: Sequence[Posting], *, explain: bool = True) -> Repair:
    """Repair an approved plan after changes (new leave, someone left, new forbids...).

    ``plan_input`` is the changed input; ``approved`` the approved postings. Postings that now
    break a rule are the conflicts; they are removed and only their section-months are refilled
    with someone fairness lets through who is not posted later. When the only fair choice is
    someone posted later, that one section is re-planned from that month on. Other sections'
    postings are kept as approved (a freed host slot is not offered to them).
    """
    started = time.perf_counter()
    m = _Model(plan_input)
    st = _State(m)
    _place_pins(st)
    conflicts = tuple(R.violations(plan_input, approved))
    left = _load(st, approved)
    affected = set()
    for x in left:
        if x.section_id in m.sidx and x.month in m.tidx:
            affected.add((m.sidx[x.section_id], m.tidx[x.month]))
    for t in range(m.T):
        secs = {s for s, u in affected if u == t}
        if secs:
            _fill_month(st, t, secs, avoid_later=True)
    _settle(st, affected)
    # A slot the minimal fill could not take (the only fair choice is someone posted later):
    # re-plan that section from that month on, other sections untouched.
    short = sorted((t, s) for s, t in affected if len(st.sent[s][t]) < m.d[s, t])
    replanned = set()
    for t0, s in short:
        if s in replanned:
            continue
        replanned.add(s)
        for t in range(t0, m.T):
            for p in list(st.sent[s][t]):
                if not st.pinned[p, t]:
                    st.remove(p, t)
            affected.add((s, t))
        for t in range(t0, m.T):
            _fill_month(st, t, {s})
    if replanned:
        _settle(st, affected)
    plan = _finish(st, started, explain, _lower_bound(m, st))
    before = {(x.person_id, x.month, x.host_id) for x in approved}
    after = {(x.person_id, x.month, x.host_id) for x in plan.postings}
    removed = tuple(x for x in approved if (x.person_id, x.month, x.host_id) not in after)
    added = tuple(x for x in plan.postings if (x.person_id, x.month, x.host_id) not in before)
    return Repair(plan, conflicts, removed, added)


def what_if(plan_input: PlanInput, forbid: Forbid, base: Optional[Plan] = None, *,
            max_passes: int = 12) -> WhatIf:
    """What would forbidding this cost? The next-best plan with the forbid added, and the delta.

    Two candidates are tried and the cheaper kept: the base plan repaired around the forbid and
    improved, and a fresh solve. Pins are kept in both.
    """
    if base is None:
        base = solve(plan_input)
    rules = replace(plan_input.rules, forbids=tuple(plan_input.rules.forbids) + (forbid,))
    changed = replace(plan_input, rules=rules)
    started = time.perf_counter()
    m = _Model(changed)
    st = _State(m)
    _place_pins(st)
    keep = [x for x in base.postings if not R.forbid_matches(
        forbid, x.person_id, x.section_id, x.month, x.host_id)
        and not R.forbid_matches(forbid, x.person_id, x.section_id, x.month, None)]
    _load(st, keep)
    affected = {(s, t) for s in range(m.S) for t in range(m.T) if len(st.sent[s][t]) < m.d[s, t]}
    for t in range(m.T):
        _fill_month(st, t, {s for s, u in affected if u == t}, avoid_later=True)
    _settle(st, affected)
    _improve(st, max_passes, None)
    lb = _lower_bound(m, st)
    warm = _finish(st, started, True, lb)
    fresh = solve(changed, max_passes=max_passes)
    after = min((warm, fresh), key=lambda p: (bool(p.reasons) and not base.reasons, p.objective))
    return WhatIf(forbid, base.objective, after.objective, after.objective - base.objective, after)
