"""Rotation (轮岗交流): the pure planning core. See :mod:`service.rotation.solver` for the rules,
the objective, the heuristic and the proof of the lower bound."""
from .model import (
    Candidate, Forbid, Month, Pin, Plan, PlanInput, PlanRules, Posting, Reason, Repair, Section,
    Unfilled, Weights, WhatIf,
)
from .rules import plan_cost, violations
from .solver import lower_bound, plan_postings, repair, solve, what_if

__all__ = [
    "Candidate", "Forbid", "Month", "Pin", "Plan", "PlanInput", "PlanRules", "Posting", "Reason",
    "Repair", "Section", "Unfilled", "Weights", "WhatIf", "lower_bound", "plan_cost",
    "plan_postings", "repair", "solve", "violations", "what_if",
]
