"""The rotation solver's lower bound is a proven bound: bound <= optimum <= the solver's objective.

The optimum comes from OR-Tools CP-SAT on the exact model (``bench/rotation_bench.py``,
``cpsat_optimum``), on small random offices where CP-SAT proves optimality; offices it cannot
prove in the time limit are skipped rather than compared with a non-optimal value.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from service.rotation import lower_bound, plan_cost, solve, violations

from .test_rotation_solver import offices

pytest.importorskip("ortools.sat.python.cp_model")

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "rotation_bench.py"


def _bench():
    spec = importlib.util.spec_from_file_location("rotation_bench", _BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()


def _check(inp, time_limit=10.0):
    plan = solve(inp)
    optimum, proven, _, postings = bench.cpsat_optimum(inp, time_limit=time_limit)
    # Not proven: out of time, or no lawful plan keeps every pin (the solver then reports them).
    assume(proven)
    assert not violations(inp, postings)
    assert plan_cost(inp, postings) == pytest.approx(optimum)
    assert plan.lower_bound <= optimum + 1e-6
    assert lower_bound(inp) <= optimum + 1e-6  # without the plan's aims, too
    if not plan.reasons:  # a lawful plan: the optimum is no dearer
        assert not violations(inp, plan.postings)
        assert optimum <= plan.objective + 1e-6
    return plan, optimum


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(offices(max_sections=4, max_members=4, max_months=4))
def test_bound_le_cpsat_optimum_le_solver_on_random_offices(inp):
    _check(inp)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(offices(max_sections=3, max_members=3, max_months=4, pins=True))
def test_bound_stays_below_the_optimum_with_pins(inp):
    _check(inp)


@pytest.mark.parametrize("shape", [(4, 12, 4, 1), (4, 12, 4, 2), (6, 18, 3, 4)])
def test_bound_le_cpsat_optimum_le_solver_on_office_shaped_cases(shape):
    n_sections, n_staff, n_months, seed = shape
    inp = bench.make_office(n_sections, n_staff, seed=seed, n_months=n_months)
    plan = solve(inp)
    optimum, proven, _, _ = bench.cpsat_optimum(inp, time_limit=30.0)
    assert proven
    assert plan.lower_bound <= optimum + 1e-6 <= plan.objective + 2e-6


@pytest.mark.parametrize("shape,status", [((6, 18, 3, 4), "proposed"), ((4, 12, 4, 1), "infeasible")])
def test_bound_is_close(shape, status):
    """Not only valid but close, also when members who may visit only one host leave slots empty
    that no plan can fill (the bound then charges those shortfalls)."""
    n_sections, n_staff, n_months, seed = shape
    inp = bench.make_office(n_sections, n_staff, seed=seed, n_months=n_months)
    plan = solve(inp)
    optimum, proven, _, _ = bench.cpsat_optimum(inp, time_limit=30.0)
    assert proven and plan.status == status
    assert optimum - plan.lower_bound <= 0.01 * optimum


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(offices(max_sections=4, max_members=4, max_months=4), st.integers(0, 2**32 - 1),
       st.sampled_from([0.1, 1.0, 10.0]))
def test_any_multipliers_give_a_valid_bound(inp, seed, scale):
    """Weak duality, directly: the Lagrangian value at arbitrary multipliers >= 0 is below the
    optimum (not only at the ones the subgradient steps happen to reach)."""
    import numpy as np

    from service.rotation import solver

    optimum, proven, _, _ = bench.cpsat_optimum(inp, time_limit=10.0)
    assume(proven)
    rng = np.random.default_rng(seed)

    def at_random(self, target, rounds):
        self.mu = np.where(self.active, rng.exponential(scale, self.mu.shape), 0.0)
        return self.value()[0]

    original = solver._Chains.best
    solver._Chains.best = at_random
    try:
        assert lower_bound(inp) <= optimum + 1e-6
    finally:
        solver._Chains.best = original
