"""Statutory annual leave: tiers, pro rata, disqualification, and the carry-over ledger."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from service.leave.entitlement import (
    ADJUSTMENT,
    ALLOCATION,
    CARRY_IN,
    CARRY_OUT,
    EXPIRY,
    LAPSE,
    TAKEN,
    LeavePolicy,
    LedgerEntry,
    allocation_entry,
    annual_entitlement,
    balance,
    carry_over_entries,
    carry_over_expiry_date,
    cumulative_years,
    entitlement_for_year,
    explain,
    pending_entries,
    reminder_start_date,
)

PRO_RATA = LeavePolicy(tier_change_rule="pro_rata")
NEXT_YEAR = LeavePolicy(tier_change_rule="next_year")

# ------------------------------------------------------------------ tiers and years of work


@pytest.mark.parametrize(
    "years, days",
    [(0, 0), (1, 5), (9, 5), (10, 10), (19, 10), (20, 15), (41, 15)],
)
def test_annual_entitlement_tiers(years, days):
    assert annual_entitlement(years) == days


def test_negative_years_are_refused():
    with pytest.raises(ValueError):
        annual_entitlement(-1)


def test_year_of_work_completes_on_the_anniversary():
    assert cumulative_years(date(2016, 7, 1), date(2026, 6, 30)) == 9
    assert cumulative_years(date(2016, 7, 1), date(2026, 7, 1)) == 10
    assert cumulative_years(date(2016, 7, 1), date(2016, 7, 1)) == 0
    assert cumulative_years(date(2016, 7, 1), date(2010, 1, 1)) == 0


def test_29_february_start_completes_on_1_march_in_common_years():
    assert cumulative_years(date(2024, 2, 29), date(2025, 2, 28)) == 0
    assert cumulative_years(date(2024, 2, 29), date(2025, 3, 1)) == 1
    assert cumulative_years(date(2024, 2, 29), date(2028, 2, 29)) == 4


def test_gaps_are_not_work_and_overlaps_count_once():
    start = date(2010, 1, 1)
    gap = (date(2013, 1, 1), date(2013, 12, 31))  # a year (365 days) out of work
    assert cumulative_years(start, date(2020, 1, 1)) == 10
    assert cumulative_years(start, date(2020, 1, 1), [gap]) == 9
    overlapping = [gap, (date(2013, 6, 1), date(2014, 1, 1))]  # one more day in all
    assert cumulative_years(start, date(2020, 1, 1), overlapping) == 8
    assert cumulative_years(start, date(2020, 1, 2), overlapping) == 9
    # A gap after `on` does not count yet.
    assert cumulative_years(start, date(2012, 6, 1), [gap]) == 2


def test_gaps_are_measured_in_days_so_a_leap_year_gap_weighs_366():
    start = date(2010, 1, 1)
    leap_gap = (date(2012, 1, 1), date(2012, 12, 31))
    assert cumulative_years(start, date(2020, 1, 1), [leap_gap]) == 8
    assert cumulative_years(start, date(2020, 1, 2), [leap_gap]) == 9


@settings(max_examples=200, deadline=None)
@given(
    st.dates(min_value=date(1970, 1, 1), max_value=date(2020, 12, 31)),
    st.dates(min_value=date(1970, 1, 1), max_value=date(2040, 12, 31)),
    st.lists(
        st.tuples(st.dates(min_value=date(1970, 1, 1), max_value=date(2040, 12, 31)),
                  st.integers(min_value=0, max_value=900)),
        max_size=3,
    ),
)
def test_cumulative_years_never_decrease_with_time(start, on, raw_gaps):
    gaps = [(a, a + timedelta(days=n)) for a, n in raw_gaps]
    before = cumulative_years(start, on, gaps)
    after = cumulative_years(start, on + timedelta(days=1), gaps)
    assert after in (before, before + 1)
    assert before <= cumulative_years(start, on)  # a gap never adds work


# ------------------------------------------------------------------ the examples


def test_exactly_10_years_on_1_july_next_year_rule_keeps_the_old_tier():
    ent = entitlement_for_year(2026, date(2016, 7, 1), date(2016, 7, 1), policy=NEXT_YEAR)
    assert ent.days == 5
    assert ent.codes == ("period", "tier", "tier_change", "full_year", "result")
    assert "2026-07-01" in ent.lines[2] and "2027" in ent.lines[2]
    # And the new tier applies the next year.
    assert entitlement_for_year(2027, date(2016, 7, 1), date(2016, 7, 1)).days == 10


def test_exactly_10_years_on_1_july_pro_rata_rule_splits_the_year():
    ent = entitlement_for_year(2026, date(2016, 7, 1), date(2016, 7, 1), policy=PRO_RATA)
    # 1 Jan-30 Jun: 181 days at 5, 1 Jul-31 Dec: 184 days at 10: floor(2745 / 365) = floor(7.52).
    assert ent.days == 7
    step = dict(zip(ent.codes, ent.steps))["pro_rata"]
    assert step.values["weighted_days"] == 181 * 5 + 184 * 10
    assert "181 x 5 + 184 x 10" in step.text


def test_joiner_on_1_july_with_12_years_gets_5_days():
    ent = entitlement_for_year(2026, date(2014, 3, 1), joined_unit=date(2026, 7, 1))
    assert ent.days == 5  # floor(184 / 365 x 10) = floor(5.04)
    assert "184 calendar days" in ent.lines[0]
    assert "floor((184 x 10) / 365)" in ent.lines[2]


def test_leaver_is_pro_rated_to_the_last_day():
    # Left on 31 March after 16 years: floor(90 / 365 x 10) = floor(2.47).
    ent = entitlement_for_year(2026, date(2010, 1, 1), date(2010, 1, 1), left_unit=date(2026, 3, 31))
    assert ent.days == 2
    # 20+ years, left on 30 June: floor(181 / 365 x 15) = floor(7.44).
    assert entitlement_for_year(
        2026, date(2000, 1, 1), date(2000, 1, 1), left_unit=date(2026, 6, 30)).days == 7


def test_joiner_and_leaver_in_the_same_year():
    # 1 March-31 October 2026: 245 days at 5: floor(3.36).
    assert entitlement_for_year(
        2026, date(2020, 1, 1), date(2026, 3, 1), left_unit=date(2026, 10, 31)).days == 3


def test_not_at_the_unit_that_year_gets_nothing():
    assert entitlement_for_year(2026, date(2000, 1, 1), date(2027, 1, 1)).days == 0
    left = entitlement_for_year(2026, date(2000, 1, 1), date(2000, 1, 1), left_unit=date(2025, 12, 31))
    assert left.days == 0 and left.codes == ("not_at_unit",)
    with pytest.raises(ValueError):
        entitlement_for_year(2026, date(2000, 1, 1), date(2026, 5, 1), left_unit=date(2026, 4, 1))


def test_less_than_one_year_of_work_gets_nothing():
    # First job, started 1 March 2026: one year is only completed in 2027.
    for policy in (NEXT_YEAR, PRO_RATA):
        ent = entitlement_for_year(2026, date(2026, 3, 1), date(2026, 3, 1), policy=policy)
        assert ent.days == 0
        assert "not_eligible" in ent.codes


def test_first_eligibility_mid_year_follows_the_tier_change_rule():
    # Graduate who started on 1 July 2025 completes one year on 1 July 2026.
    start = date(2025, 7, 1)
    assert entitlement_for_year(2026, start, start, policy=NEXT_YEAR).days == 0
    assert entitlement_for_year(2026, start, start, policy=PRO_RATA).days == 2  # 184 x 5 / 365
    assert entitlement_for_year(2027, start, start, policy=NEXT_YEAR).days == 5


def test_new_joiner_with_prior_work_elsewhere_is_eligible_at_once():
    # Worked since 2020 at another unit; joined this one on 1 July 2026.
    assert entitlement_for_year(2026, date(2020, 1, 1), date(2026, 7, 1)).days == 2


def test_a_full_leap_year_gives_exactly_the_tier():
    assert entitlement_for_year(2028, date(2000, 1, 1), date(2000, 1, 1)).days == 15
    assert entitlement_for_year(2028, date(2000, 1, 1), date(2028, 1, 1)).days == 15


@pytest.mark.parametrize(
    "work_start, below, at",
    [
        (date(2020, 1, 1), Decimal("1.9"), 2),  # 5-day tier: 2 months
        (date(2010, 1, 1), Decimal("2.9"), 3),  # 10-day tier: 3 months
        (date(2000, 1, 1), Decimal("3.9"), 4),  # 15-day tier: 4 months
    ],
)
def test_sick_leave_disqualifies_per_tier(work_start, below, at):
    kept = entitlement_for_year(2026, work_start, work_start, sick_leave_months=below)
    lost = entitlement_for_year(2026, work_start, work_start, sick_leave_months=at)
    assert kept.days == annual_entitlement(cumulative_years(work_start, date(2026, 1, 1)))
    assert lost.days == 0
    assert "disqualified_sick_leave" in lost.codes
    assert f"{at} or more" in dict(zip(lost.codes, lost.lines))["disqualified_sick_leave"]


def test_personal_leave_of_20_days_without_deduction_disqualifies():
    start = date(2015, 1, 1)
    assert entitlement_for_year(2026, start, start, personal_leave_days=19).days == 10
    lost = entitlement_for_year(2026, start, start, personal_leave_days=20)
    assert lost.days == 0 and "disqualified_personal_leave" in lost.codes


def test_leave_lost_after_taking_last_years_leave():
    start = date(2015, 1, 1)
    lost = entitlement_for_year(2026, start, start, forfeited_by_previous_year=True)
    assert lost.days == 0 and "disqualified_previous_year" in lost.codes


def test_policy_is_validated():
    with pytest.raises(ValueError):
        LeavePolicy(tier_change_rule="immediately")
    with pytest.raises(ValueError):
        LeavePolicy(carry_over_expiry=(2, 30))
    with pytest.raises(ValueError):
        LeavePolicy(carry_over_max_days=Decimal("2.3"))


@settings(max_examples=150, deadline=None)
@given(
    st.dates(min_value=date(1980, 1, 1), max_value=date(2026, 12, 31)),
    st.dates(min_value=date(1990, 1, 1), max_value=date(2026, 12, 31)),
    st.one_of(st.none(), st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 6, 30))),
)
def test_entitlement_bounds_and_rule_ordering(work_start, joined, left):
    assume(left is None or left >= joined)
    nxt = entitlement_for_year(2026, work_start, joined, left, policy=NEXT_YEAR)
    pro = entitlement_for_year(2026, work_start, joined, left, policy=PRO_RATA)
    last_day = min(left or date(2026, 12, 31), date(2026, 12, 31))
    top = annual_entitlement(cumulative_years(work_start, last_day))
    assert 0 <= nxt.days <= pro.days <= top
    assert nxt.steps[-1].values["days"] == nxt.days


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=1, max_value=30),
    st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)),
)
def test_joiner_gets_the_measures_formula(years_before, joined):
    # A tier that does not change during the year: the Measures art. 5 formula, exactly.
    work_start = date(2026 - years_before - 1, 1, 1)
    tier = annual_entitlement(years_before + 1)
    remaining = (date(2026, 12, 31) - joined).days + 1
    ent = entitlement_for_year(2026, work_start, joined, policy=PRO_RATA)
    assert ent.days == remaining * tier // 365


# ------------------------------------------------------------------ the ledger


def E(d, kind, days, year, reason=""):
    return LedgerEntry(d, kind, Decimal(str(days)), reason or kind, year)


def test_ledger_entries_are_signed_whole_or_half_days():
    assert LedgerEntry(date(2026, 3, 2), TAKEN, -0.5, "afternoon", 2026).days == Decimal("-0.5")
    with pytest.raises(ValueError):
        E(date(2026, 3, 2), TAKEN, "-0.3", 2026)
    with pytest.raises(ValueError):
        E(date(2026, 3, 2), TAKEN, 2, 2026)  # taking leave must reduce the balance
    with pytest.raises(ValueError):
        E(date(2026, 3, 2), ALLOCATION, -5, 2026)
    with pytest.raises(ValueError):
        E(date(2026, 3, 2), "bonus", 1, 2026)
    assert E(date(2026, 3, 2), ADJUSTMENT, -1, 2026).days == -1


def test_balance_is_the_sum_of_entries_in_effect():
    entries = [
        E(date(2026, 1, 1), ALLOCATION, 10, 2026),
        E(date(2026, 3, 2), TAKEN, -2.5, 2026),
        E(date(2026, 5, 6), TAKEN, -1, 2026),
    ]
    assert balance(entries, date(2025, 12, 31)) == 0
    assert balance(entries, date(2026, 3, 1)) == 10
    assert balance(entries, date(2026, 3, 2)) == Decimal("7.5")
    assert balance(entries, date(2026, 12, 31)) == Decimal("6.5")
    assert balance(entries, date(2026, 12, 31), year=2025) == 0


def test_explain_shows_a_running_balance_in_date_order():
    entries = [
        E(date(2026, 5, 6), TAKEN, -1, 2026, "day off after audit"),
        E(date(2026, 1, 1), ALLOCATION, 10, 2026, "annual leave 2026"),
        E(date(2026, 3, 2), TAKEN, -2.5, 2026, "family visit"),
    ]
    lines = explain(entries)
    assert [line.running for line in lines] == [Decimal(10), Decimal("7.5"), Decimal("6.5")]
    assert lines[0].text == "2026-01-01 2026 allocation +10 = 10: annual leave 2026"
    assert lines[1].text == "2026-03-02 2026 taken -2.5 = 7.5: family visit"


def test_allocation_entry_from_an_entitlement():
    ent = entitlement_for_year(2026, date(2014, 3, 1), date(2026, 7, 1))
    entry = allocation_entry(ent, date(2026, 7, 1))
    assert (entry.kind, entry.days, entry.year) == (ALLOCATION, Decimal(5), 2026)
    assert entry.reason == "Annual leave for 2026: 5 days."


def test_without_carry_over_unused_days_lapse_on_1_january():
    entries = [E(date(2025, 1, 1), ALLOCATION, 10, 2025), E(date(2025, 8, 4), TAKEN, -4, 2025)]
    assert carry_over_entries(entries, 2025, as_of=date(2025, 12, 31)) == ()
    new = carry_over_entries(entries, 2025, as_of=date(2026, 1, 1))
    assert [(e.kind, e.days, e.date) for e in new] == [(LAPSE, -6, date(2026, 1, 1))]
    ledger = entries + list(new)
    assert balance(ledger, date(2025, 12, 31)) == 6  # still usable on the last day
    assert balance(ledger, date(2026, 1, 1)) == 0


def test_carry_over_capped_then_expires_unused_part():
    policy = LeavePolicy(carry_over_allowed=True, carry_over_max_days=5, carry_over_expiry=(3, 31))
    ledger = [E(date(2025, 1, 1), ALLOCATION, 10, 2025), E(date(2025, 6, 2), TAKEN, -3, 2025)]
    ledger += carry_over_entries(ledger, 2025, policy, as_of=date(2026, 1, 1))
    kinds = {(e.kind, e.year): e.days for e in ledger}
    assert kinds[(CARRY_OUT, 2025)] == -5 and kinds[(CARRY_IN, 2026)] == 5
    assert kinds[(LAPSE, 2025)] == -2  # 7 unused, cap 5
    assert "2026-03-31" in next(e.reason for e in ledger if e.kind == CARRY_IN)

    ledger += [
        E(date(2026, 1, 1), ALLOCATION, 10, 2026),
        E(date(2026, 2, 10), TAKEN, -2, 2026),  # uses carried days first
        E(date(2026, 4, 1), TAKEN, -1, 2026),  # the day after the expiry: own days
        E(date(2026, 5, 6), TAKEN, -4, 2026),
    ]
    assert carry_over_entries(ledger, 2026, policy, as_of=date(2026, 3, 31)) == ()
    new = carry_over_entries(ledger, 2026, policy, as_of=date(2026, 4, 1))
    assert [(e.kind, e.days, e.date) for e in new] == [(EXPIRY, -3, date(2026, 4, 1))]
    ledger += new
    assert balance(ledger, date(2026, 3, 31)) == 13  # 5 carried - 2 + 10
    assert balance(ledger, date(2026, 4, 1)) == 9  # 10 own - 1 taken that day
    assert balance(ledger, date(2026, 12, 31)) == 5


def test_carried_days_are_never_carried_a_second_time():
    policy = LeavePolicy(carry_over_allowed=True)  # no cap; expiry 31 December by default
    ledger = [E(date(2025, 1, 1), ALLOCATION, 3, 2025)]
    ledger += carry_over_entries(ledger, 2025, policy, as_of=date(2026, 1, 1))
    ledger.append(E(date(2026, 1, 1), ALLOCATION, 10, 2026))
    assert balance(ledger, date(2026, 12, 31)) == 13
    new = carry_over_entries(ledger, 2026, policy, as_of=date(2027, 1, 1))
    got = {e.kind: e.days for e in new}
    assert got == {EXPIRY: -3, CARRY_OUT: -10, CARRY_IN: 10}
    assert balance(ledger + list(new), date(2027, 1, 1)) == 10


def test_carry_over_is_idempotent():
    policy = LeavePolicy(carry_over_allowed=True, carry_over_max_days=5, carry_over_expiry=(3, 31))
    ledger = [E(date(2025, 1, 1), ALLOCATION, 10, 2025)]
    first = pending_entries(ledger, policy, as_of=date(2026, 6, 1))
    assert first  # carry-over and lapse were due
    assert pending_entries(ledger + list(first), policy, as_of=date(2026, 6, 1)) == ()


def test_overdrawn_year_carries_nothing():
    policy = LeavePolicy(carry_over_allowed=True)
    ledger = [E(date(2025, 1, 1), ALLOCATION, 5, 2025), E(date(2025, 3, 2), TAKEN, -6, 2025)]
    assert carry_over_entries(ledger, 2025, policy, as_of=date(2026, 1, 1)) == ()


def test_expiry_and_reminder_dates():
    assert carry_over_expiry_date(2025) == date(2026, 12, 31)
    leap_day = LeavePolicy(carry_over_expiry=(2, 29))
    assert carry_over_expiry_date(2026, leap_day) == date(2027, 2, 28)
    assert carry_over_expiry_date(2027, leap_day) == date(2028, 2, 29)
    assert reminder_start_date(2026) == date(2026, 9, 1)
    assert reminder_start_date(2026, LeavePolicy(reminder_start=(10, 15))) == date(2026, 10, 15)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=15), min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 3), st.integers(1, 364), st.integers(1, 8)), max_size=8),
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 10)),
    st.tuples(st.integers(1, 12), st.integers(1, 28)),
)
def test_year_end_processing_closes_each_year_and_is_idempotent(
    allocations, takes, allowed, cap, expiry
):
    policy = LeavePolicy(
        carry_over_allowed=allowed, carry_over_max_days=cap, carry_over_expiry=expiry
    )
    base = 2020
    ledger = [E(date(base + i, 1, 1), ALLOCATION, days, base + i) for i, days in enumerate(allocations)]
    for year_index, day, halves in takes:
        if year_index < len(allocations):
            d = date(base + year_index, 1, 1) + timedelta(days=day)
            ledger.append(E(d, TAKEN, -Decimal(halves) / 2, base + year_index))
    end = date(base + len(allocations), 12, 31)
    new = pending_entries(ledger, policy, as_of=end)
    assert pending_entries(ledger + list(new), policy, as_of=end) == ()
    full = ledger + list(new)
    carried_in = {e.year: e.days for e in new if e.kind == CARRY_IN}
    for i in range(len(allocations)):
        year = base + i
        closed = balance(full, date(year + 1, 1, 1), year=year)
        own_unused = balance(ledger, date(year, 12, 31), year=year)
        if own_unused >= 0 and carried_in.get(year, 0) == 0:
            # Nothing left in a closed year: every unused day was carried or lapsed.
            assert closed == 0
        moved = carried_in.get(year + 1, Decimal(0))
        assert moved == 0 or allowed
        assert cap is None or moved <= cap
        # The pair of carry entries never changes the total.
        assert sum(e.days for e in new if e.kind in (CARRY_IN, CARRY_OUT)) == 0
