"""Statutory paid annual leave (带薪年休假): entitlement, and a ledger of signed entries.

Sources (State Council and ministry texts of 2008; article numbers as published):

* 职工带薪年休假条例 (State Council order 514), here "the Regulations":
  art. 2 - staff who have worked continuously for more than one year (连续工作1年以上) get
  paid annual leave; art. 3 - by cumulative years of work (累计工作): 1 to <10 years 5 days,
  10 to <20 years 10 days, 20 years or more 15 days; statutory holidays and rest days are not
  counted as leave days; art. 4 - no annual leave that year after personal leave of 20+ days
  without a pay deduction, or sick leave of 2+ / 3+ / 4+ months for the three tiers; art. 5 -
  leave may be split and may be carried over into the next year, once (跨1个年度).
* 企业职工带薪年休假实施办法 (人社部令第1号), here "the Measures": art. 3 - "continuous work of
  12 months or more"; art. 4 - cumulative work at the same or different employers counts;
  art. 5 - a new hire who meets art. 3 gets floor(remaining calendar days of the year at the
  unit / 365 x full-year days) (不足1整天的部分不享受); art. 8 - a person who already took this
  year's leave and then falls under art. 4 (2)-(5) loses next year's leave; art. 12 - a leaver
  likewise pro rata (days already passed in the year / 365); the leave year is the calendar year.
* 人社厅函〔2009〕149号 (reply on the Measures): 12 months of continuous work may be at the same
  or at different employers.

Interpretation decisions (each a documented reading, not settled law):

1. Eligibility is "tier 0": fewer than one whole year of cumulative work gives 0 days.
   Reaching one year inside a calendar year is a change of tier like reaching 10 or 20 years,
   so ``LeavePolicy.tier_change_rule`` decides it: ``'next_year'`` (default) gives nothing until
   the next calendar year; ``'pro_rata'`` gives the share of the year after the anniversary.
   Eligibility is measured on cumulative work with ``gaps`` removed (149号 reads "continuous" as
   at the same or different employers). A unit that requires an unbroken 12 months after a break
   passes the date of the break's end as ``work_start``.
2. A joiner is pro-rated from the joining date (inclusive) to 31 December, a leaver from
   1 January to the last day at the unit (inclusive), both over a fixed 365 as the Measures
   say; only a person at the unit the whole year with one tier gets the tier as it stands
   (in a leap year 366/365 x tier still floors to the tier, so the two agree).
3. ``'next_year'``: the tier in force on the first day at the unit in that year (1 January for
   staff already there) holds for the whole year. ``'pro_rata'``: the period at the unit is
   split where the tier changes, and
   ``days = floor(sum(calendar_days_in_segment x tier_of_segment) / 365)``, one floor at the
   end (never a floor per segment, which would lose up to a day per split).
4. The sick-leave threshold for disqualification follows the highest tier that fed the grant.
5. ``personal_leave_days`` means days of personal leave (事假) for which pay was NOT deducted;
   personal leave with a pay deduction does not disqualify (Regulations art. 4 (2)).

The ledger: a balance is the sum of signed :class:`LedgerEntry` values, each booked in the
account of one leave year. Carried-over days are moved by a pair of entries (out of the old
year, into the new one) so that they can be told apart from the new year's own days, expire
on their own date and are never carried a second time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Iterable, NamedTuple

__all__ = [
    "ALLOCATION",
    "CANCELLED",
    "CARRY_IN",
    "CARRY_OUT",
    "DEFAULT_POLICY",
    "EXPIRY",
    "LAPSE",
    "TAKEN",
    "ADJUSTMENT",
    "Entitlement",
    "LeavePolicy",
    "LedgerEntry",
    "LedgerLine",
    "Step",
    "allocation_entry",
    "annual_entitlement",
    "balance",
    "carry_over_entries",
    "carry_over_expiry_date",
    "cumulative_years",
    "entitlement_for_year",
    "explain",
    "pending_entries",
    "reminder_start_date",
]

# Thresholds of the Regulations art. 3: (minimum whole years, days a year), highest first.
_TIERS: tuple[tuple[int, int], ...] = ((20, 15), (10, 10), (1, 5))
# Regulations art. 4 (3)-(5): sick leave (months) that cancels the year's leave, per tier.
_SICK_MONTHS_LIMIT = {5: 2, 10: 3, 15: 4}
# Regulations art. 4 (2).
_PERSONAL_LEAVE_LIMIT = 20
# The Measures art. 5 and 12 divide by 365 whatever the year's length.
_PRO_RATA_DIVISOR = 365

TIER_CHANGE_RULES = ("next_year", "pro_rata")


def annual_entitlement(years_of_work: int) -> int:
    """Days of annual leave a year for ``years_of_work`` whole years of cumulative work.

    0 below one year (not yet eligible), 5 from 1, 10 from 10, 15 from 20 (Regulations art. 3).
    """
    if years_of_work < 0:
        raise ValueError("years_of_work cannot be negative")
    for minimum, days in _TIERS:
        if years_of_work >= minimum:
            return days
    return 0


def _whole_years(start: date, end: date) -> int:
    # The year is complete on the anniversary itself; a 29 February start completes on 1 March.
    if end <= start:
        return 0
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def _gap_days_before(work_start: date, on: date, gaps: Iterable[tuple[date, date]]) -> int:
    # Merge first: overlapping gaps must not be subtracted twice.
    spans = sorted(
        (max(a, work_start), min(b, on - timedelta(days=1)))
        for a, b in gaps
    )
    total = 0
    cur_a = cur_b = None
    for a, b in spans:
        if b < a:
            continue
        if cur_b is not None and a <= cur_b + timedelta(days=1):
            cur_b = max(cur_b, b)
            continue
        if cur_b is not None:
            total += (cur_b - cur_a).days + 1
        cur_a, cur_b = a, b
    if cur_b is not None:
        total += (cur_b - cur_a).days + 1
    return total


def cumulative_years(
    work_start: date, on: date, gaps: Iterable[tuple[date, date]] = ()
) -> int:
    """Whole years of cumulative work completed on ``on`` (the anniversary day counts).

    ``work_start`` is the first day of work (参加工作时间). ``gaps`` are inclusive
    (first, last) date pairs not counted as work (breaks between jobs); counted days are those
    from ``work_start`` to the day before ``on``. The gap days are taken off the end
    (``on`` moves back by their number) and whole years are counted by anniversary, so the
    result never decreases as ``on`` moves forward. Gaps are measured in days: a gap over a
    whole leap year weighs 366 days, one day more than the year it is subtracted from.
    """
    if on <= work_start:
        return 0
    gaps = tuple(gaps)
    for a, b in gaps:
        if b < a:
            raise ValueError(f"gap ends {b} before it starts {a}")
    counted_end = on - timedelta(days=_gap_days_before(work_start, on, gaps))
    return _whole_years(work_start, counted_end)


@dataclass(frozen=True)
class LeavePolicy:
    """A unit's settings for annual leave; the defaults are the common practice.

    ``tier_change_rule``: ``'next_year'`` - a tier reached during the year applies from the next
    year (the tier in force on the first day at the unit in the year holds); ``'pro_rata'`` -
    the year is split at the anniversary and ``floor(sum(days x tier) / 365)`` is granted.
    ``carry_over_allowed`` / ``carry_over_max_days``: whether unused days move into the next
    year (once, Regulations art. 5) and at most how many (None: all).
    ``carry_over_expiry``: (month, day) in the next year, the last day carried days can be used.
    ``reminder_start``: (month, day) from which staff with unused leave are reminded.
    """

    tier_change_rule: str = "next_year"
    carry_over_allowed: bool = False
    carry_over_max_days: Decimal | int | None = None
    carry_over_expiry: tuple[int, int] = (12, 31)
    reminder_start: tuple[int, int] = (9, 1)

    def __post_init__(self) -> None:
        if self.tier_change_rule not in TIER_CHANGE_RULES:
            raise ValueError(f"tier_change_rule must be one of {TIER_CHANGE_RULES}")
        if self.carry_over_max_days is not None:
            cap = _to_days(self.carry_over_max_days)
            if cap < 0:
                raise ValueError("carry_over_max_days cannot be negative")
            object.__setattr__(self, "carry_over_max_days", cap)
        for name in ("carry_over_expiry", "reminder_start"):
            month, day = getattr(self, name)
            date(2024, month, day)  # raises ValueError for an impossible (month, day)


DEFAULT_POLICY = LeavePolicy()


def _on_month_day(year: int, month_day: tuple[int, int]) -> date:
    month, day = month_day
    if (month, day) == (2, 29) and not _is_leap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def carry_over_expiry_date(from_year: int, policy: LeavePolicy = DEFAULT_POLICY) -> date:
    """The last day on which days carried over from ``from_year`` can be used."""
    return _on_month_day(from_year + 1, policy.carry_over_expiry)


def reminder_start_date(year: int, policy: LeavePolicy = DEFAULT_POLICY) -> date:
    """The day from which staff with unused leave of ``year`` are reminded (default 1 Sept)."""
    return _on_month_day(year, policy.reminder_start)


@dataclass(frozen=True)
class Step:
    """One line of an explanation: a stable ``code``, English ``text``, and its ``params``.

    The web layer may translate by ``code`` and ``params``; ``text`` is the fallback.
    """

    code: str
    text: str
    params: tuple[tuple[str, object], ...] = ()

    @property
    def values(self) -> dict[str, object]:
        """``params`` as a dict."""
        return dict(self.params)


@dataclass(frozen=True)
class Entitlement:
    """Annual leave granted for ``year`` and the steps that led to it."""

    year: int
    days: int
    steps: tuple[Step, ...] = field(default=())

    @property
    def lines(self) -> tuple[str, ...]:
        """The explanation as plain lines, for a "why" box."""
        return tuple(s.text for s in self.steps)

    @property
    def codes(self) -> tuple[str, ...]:
        """The step codes, in order."""
        return tuple(s.code for s in self.steps)


def _step(code: str, text: str, **params: object) -> Step:
    return Step(code, text, tuple(params.items()))


def _tier_segments(
    start: date, end: date, work_start: date, gaps: tuple[tuple[date, date], ...]
) -> list[tuple[date, date, int, int]]:
    # The tier never goes down as time passes (cumulative_years is monotone), so each
    # segment's last day can be found by bisection: a handful of calls instead of 366.
    def tier_on(ordinal: int) -> int:
        return annual_entitlement(cumulative_years(work_start, date.fromordinal(ordinal), gaps))

    segments: list[tuple[date, date, int, int]] = []
    first, last = start.toordinal(), end.toordinal()
    while first <= last:
        years = cumulative_years(work_start, date.fromordinal(first), gaps)
        tier = annual_entitlement(years)
        lo, hi = first, last
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if tier_on(mid) == tier:
                lo = mid
            else:
                hi = mid - 1
        segments.append((date.fromordinal(first), date.fromordinal(lo), years, tier))
        first = lo + 1
    return segments


def entitlement_for_year(
    year: int,
    work_start: date,
    joined_unit: date,
    left_unit: date | None = None,
    policy: LeavePolicy = DEFAULT_POLICY,
    personal_leave_days: int | Decimal = 0,
    sick_leave_months: int | Decimal | Fraction = 0,
    gaps: Iterable[tuple[date, date]] = (),
    forfeited_by_previous_year: bool = False,
) -> Entitlement:
    """Days of statutory annual leave for ``year`` at this unit, with the reasons.

    ``work_start``: first day of work anywhere (参加工作时间); ``joined_unit``: first day at this
    unit; ``left_unit``: last day at this unit, if the person left. ``personal_leave_days``:
    personal leave in the year without a pay deduction; ``sick_leave_months``: sick leave in the
    year, in months. ``gaps``: breaks not counted as work (see :func:`cumulative_years`).
    ``forfeited_by_previous_year``: the person took last year's leave and then fell under the
    Regulations art. 4 (2)-(5) that year, so loses this year's leave (Measures art. 8).
    See the module docstring for the interpretation of eligibility and of tier changes.
    """
    gaps = tuple(gaps)
    jan1, dec31 = date(year, 1, 1), date(year, 12, 31)
    if left_unit is not None and left_unit < joined_unit:
        raise ValueError(f"left_unit {left_unit} is before joined_unit {joined_unit}")
    if joined_unit > dec31 or (left_unit is not None and left_unit < jan1):
        return Entitlement(
            year, 0, (_step("not_at_unit", f"Not at the unit in {year}: 0 days.", year=year),)
        )

    start = max(jan1, joined_unit)
    end = min(dec31, left_unit) if left_unit is not None else dec31
    period_days = (end - start).days + 1
    whole_year = start == jan1 and end == dec31
    steps: list[Step] = []
    if whole_year:
        steps.append(_step("period", f"At the unit the whole of {year}.", year=year))
    else:
        steps.append(
            _step(
                "period",
                f"At the unit from {start} to {end}: {period_days} calendar days of {year}.",
                start=start,
                end=end,
                calendar_days=period_days,
            )
        )

    segments = _tier_segments(start, end, work_start, gaps)
    first_years, first_tier = segments[0][2], segments[0][3]
    steps.append(
        _step(
            "tier",
            f"Cumulative work on {start}: {first_years} whole years, "
            f"{_tier_text(first_tier)} (Regulations art. 3).",
            on=start,
            years=first_years,
            tier_days=first_tier,
        )
    )
    for seg_start, _, seg_years, seg_tier in segments[1:]:
        if policy.tier_change_rule == "next_year":
            text = (
                f"Reaches {seg_years} years of work on {seg_start} ({_tier_text(seg_tier)}); "
                f"unit rule 'next_year': this applies from {year + 1}."
            )
        else:
            text = (
                f"Reaches {seg_years} years of work on {seg_start}: "
                f"{_tier_text(seg_tier)} from that day (unit rule 'pro_rata')."
            )
        steps.append(
            _step("tier_change", text, on=seg_start, years=seg_years, tier_days=seg_tier)
        )

    if policy.tier_change_rule == "next_year":
        segments = [(start, end, first_years, first_tier)]
    granting_tier = max(s[3] for s in segments)

    if granting_tier == 0:
        steps.append(
            _step(
                "not_eligible",
                "Less than one year of work: not yet eligible for annual leave "
                "(Regulations art. 2; Measures art. 3).",
            )
        )
        days = 0
    elif whole_year and len(segments) == 1:
        days = granting_tier
        steps.append(_step("full_year", f"Full year: {days} days.", days=days))
    else:
        weighted = sum(((b - a).days + 1) * tier for a, b, _, tier in segments)
        days = weighted // _PRO_RATA_DIVISOR
        terms = " + ".join(f"{(b - a).days + 1} x {tier}" for a, b, _, tier in segments)
        steps.append(
            _step(
                "pro_rata",
                f"Pro rata: floor(({terms}) / 365) = floor({weighted / _PRO_RATA_DIVISOR:.2f})"
                f" = {days} days; part days are not granted (Measures art. 5, 12).",
                weighted_days=weighted,
                divisor=_PRO_RATA_DIVISOR,
                days=days,
            )
        )

    if days > 0:
        sick_limit = _SICK_MONTHS_LIMIT[granting_tier]
        if forfeited_by_previous_year:
            steps.append(
                _step(
                    "disqualified_previous_year",
                    f"Took {year - 1}'s leave and then had leave that cancels it: "
                    f"no annual leave in {year} (Measures art. 8).",
                )
            )
            days = 0
        elif personal_leave_days >= _PERSONAL_LEAVE_LIMIT:
            steps.append(
                _step(
                    "disqualified_personal_leave",
                    f"{personal_leave_days} days of personal leave without pay deduction "
                    f"(20 or more): no annual leave in {year} (Regulations art. 4 (2)).",
                    personal_leave_days=personal_leave_days,
                )
            )
            days = 0
        elif sick_leave_months >= sick_limit:
            steps.append(
                _step(
                    "disqualified_sick_leave",
                    f"{sick_leave_months} months of sick leave ({sick_limit} or more for the "
                    f"{granting_tier}-day tier): no annual leave in {year} "
                    "(Regulations art. 4 (3)-(5)).",
                    sick_leave_months=sick_leave_months,
                    limit_months=sick_limit,
                )
            )
            days = 0

    steps.append(_step("result", f"Annual leave for {year}: {days} days.", days=days))
    return Entitlement(year, days, tuple(steps))


def _tier_text(tier: int) -> str:
    return f"{tier} days a year" if tier else "not yet eligible"


# ---------------------------------------------------------------------------- ledger

ALLOCATION = "allocation"  # the year's entitlement, positive
TAKEN = "taken"  # leave taken, negative
CANCELLED = "cancelled"  # a cancelled or shortened leave given back, positive
ADJUSTMENT = "adjustment"  # a correction by HR, either sign
CARRY_OUT = "carry_out"  # unused days leaving the old year, negative
CARRY_IN = "carry_in"  # the same days arriving in the new year, positive
LAPSE = "lapse"  # unused days that are not carried, negative
EXPIRY = "expiry"  # carried days not used by the expiry date, negative

_SIGN = {
    ALLOCATION: 1,
    CANCELLED: 1,
    CARRY_IN: 1,
    TAKEN: -1,
    CARRY_OUT: -1,
    LAPSE: -1,
    EXPIRY: -1,
    ADJUSTMENT: 0,
}
_HALF = Decimal("0.5")


def _to_days(value: Decimal | int | str | float) -> Decimal:
    # str() first so that 0.5 as a float becomes Decimal('0.5'), not a binary fraction.
    days = value if isinstance(value, Decimal) else Decimal(str(value))
    if days % _HALF != 0:
        raise ValueError(f"{value} is not a whole or half day")
    return days


@dataclass(frozen=True)
class LedgerEntry:
    """One signed movement of annual leave days, booked in the account of leave ``year``.

    ``date`` is when the entry takes effect (it counts in a balance from the start of that day).
    ``days`` is a Decimal in whole or half days; its sign must match ``kind``
    (ADJUSTMENT may have either sign).
    """

    date: date
    kind: str
    days: Decimal
    reason: str
    year: int

    def __post_init__(self) -> None:
        if self.kind not in _SIGN:
            raise ValueError(f"unknown ledger kind {self.kind!r}")
        days = _to_days(self.days)
        sign = _SIGN[self.kind]
        if (sign > 0 and days < 0) or (sign < 0 and days > 0):
            raise ValueError(f"{self.kind} entries must be {'positive' if sign > 0 else 'negative'}")
        object.__setattr__(self, "days", days)


class LedgerLine(NamedTuple):
    """An entry with the running balance after it and a printable line."""

    entry: LedgerEntry
    running: Decimal
    text: str


def balance(entries: Iterable[LedgerEntry], as_of: date, year: int | None = None) -> Decimal:
    """Sum of the entries in effect on ``as_of`` (dated on or before it).

    ``year`` limits the sum to that leave year's account; None sums every account.
    """
    return sum(
        (e.days for e in entries if e.date <= as_of and (year is None or e.year == year)),
        Decimal(0),
    )


def explain(entries: Iterable[LedgerEntry]) -> tuple[LedgerLine, ...]:
    """The entries in date order (ties keep their given order) with a running balance."""
    running = Decimal(0)
    lines: list[LedgerLine] = []
    for e in sorted(entries, key=lambda e: e.date):
        running += e.days
        sign = "+" if e.days >= 0 else ""
        text = f"{e.date} {e.year} {e.kind} {sign}{_fmt(e.days)} = {_fmt(running)}: {e.reason}"
        lines.append(LedgerLine(e, running, text))
    return tuple(lines)


def _fmt(days: Decimal) -> str:
    return str(days.quantize(_HALF) if days % 1 else days.quantize(Decimal(1)))


def allocation_entry(entitlement: Entitlement, dated: date) -> LedgerEntry:
    """The ALLOCATION entry granting ``entitlement`` from ``dated``."""
    return LedgerEntry(
        dated,
        ALLOCATION,
        Decimal(entitlement.days),
        entitlement.lines[-1] if entitlement.steps else "annual leave",
        entitlement.year,
    )


def _expiry_entries(
    entries: list[LedgerEntry], year: int, policy: LeavePolicy, as_of: date
) -> list[LedgerEntry]:
    # Days carried into ``year`` are used first (they expire first): only what taken leave up
    # to the expiry date did not use up expires.
    account = [e for e in entries if e.year == year]
    carried = sum((e.days for e in account if e.kind == CARRY_IN), Decimal(0))
    if carried <= 0 or any(e.kind == EXPIRY for e in account):
        return []
    last_day = carry_over_expiry_date(year - 1, policy)
    effective = last_day + timedelta(days=1)
    if as_of < effective:
        return []
    used = -sum(
        (e.days for e in account if e.kind in (TAKEN, CANCELLED) and e.date <= last_day),
        Decimal(0),
    )
    remaining = carried - min(max(used, Decimal(0)), carried)
    if remaining <= 0:
        return []
    return [
        LedgerEntry(
            effective,
            EXPIRY,
            -remaining,
            f"{_fmt(remaining)} days carried over from {year - 1} not used by {last_day}",
            year,
        )
    ]


def carry_over_entries(
    entries: Iterable[LedgerEntry],
    year: int,
    policy: LeavePolicy = DEFAULT_POLICY,
    *,
    as_of: date,
) -> tuple[LedgerEntry, ...]:
    """Entries due by ``as_of`` that close the account of leave ``year``; only missing ones.

    1. If days were carried INTO ``year`` and their expiry date has passed: an EXPIRY entry for
       what leave taken up to that date did not use (carried days are used first).
    2. From 1 January of ``year + 1``: the year's own unused days are carried (CARRY_OUT from
       ``year`` and CARRY_IN to ``year + 1``, both dated 1 January) up to
       ``policy.carry_over_max_days`` if ``policy.carry_over_allowed``; the rest LAPSE.
       Carried-in days are never carried again (Regulations art. 5: across one year only).

    Idempotent: an entry already present in ``entries`` is not produced again, so a daily job
    can call it and store the result. Later corrections to a closed year need an ADJUSTMENT.
    Call it for each year in order (see :func:`pending_entries`).
    """
    entries = list(entries)
    new = _expiry_entries(entries, year, policy, as_of)
    next_jan1 = date(year + 1, 1, 1)
    account = [e for e in entries + new if e.year == year]
    if as_of < next_jan1 or any(e.kind in (CARRY_OUT, LAPSE) for e in account):
        return tuple(new)
    # Carried-in days have expired by now (expiry is at the latest 31 December), so what is
    # left is the year's own days.
    unused = sum((e.days for e in account if e.date <= next_jan1), Decimal(0))
    if unused <= 0:
        return tuple(new)
    carried = Decimal(0)
    if policy.carry_over_allowed:
        cap = policy.carry_over_max_days
        carried = unused if cap is None else min(unused, cap)
    lapsed = unused - carried
    if carried > 0:
        until = carry_over_expiry_date(year, policy)
        new.append(
            LedgerEntry(next_jan1, CARRY_OUT, -carried, f"carried into {year + 1}", year)
        )
        new.append(
            LedgerEntry(
                next_jan1,
                CARRY_IN,
                carried,
                f"carried over from {year}, usable until {until}",
                year + 1,
            )
        )
    if lapsed > 0:
        why = "carry-over capped" if carried > 0 else "carry-over not allowed by the unit"
        new.append(
            LedgerEntry(next_jan1, LAPSE, -lapsed, f"unused days of {year} ({why})", year)
        )
    return tuple(new)


def pending_entries(
    entries: Iterable[LedgerEntry], policy: LeavePolicy = DEFAULT_POLICY, *, as_of: date
) -> tuple[LedgerEntry, ...]:
    """All carry-over, lapse and expiry entries due by ``as_of`` for every account, in order."""
    entries = list(entries)
    if not entries:
        return ()
    new: list[LedgerEntry] = []
    for year in range(min(e.year for e in entries), as_of.year + 1):
        new.extend(carry_over_entries(entries + new, year, policy, as_of=as_of))
    return tuple(new)
