"""The seed documents' cadence and trigger rules: defaults HR starts from and edits over the API.

These are unit settings, not law. Marked where the seed documents are silent and we chose.
"""
from __future__ import annotations

from service.talks.cadence import CadenceRule, TriggerRule
from service.talks.register import Audience

# Care talks count towards the cadence; reminder and admonition talks are discipline, not care.
CARE_KINDS = frozenset({"routine", "integrity", "triggered", "political_birthday"})

DEFAULT_CADENCE_RULES: tuple[CadenceRule, ...] = (
    # Seed documents: the head talks with each staff member quarterly. Collective talks allowed,
    # because one head cannot hold thousands of one-to-one talks a quarter (unit setting).
    CadenceRule("head-quarterly", "head", Audience("everyone"), "quarterly",
                kinds=CARE_KINDS, grace_days=5, collective_allowed=True),
    # Seed documents: a deputy talks with each member of the sections he or she oversees monthly.
    CadenceRule("deputy-monthly", "deputy", Audience("overseen_sections"), "monthly",
                kinds=CARE_KINDS, grace_days=5, collective_allowed=False),
    # Our choice (seed documents silent): a section chief with each member of the section monthly.
    CadenceRule("chief-monthly", "chief", Audience("own_sections"), "monthly",
                kinds=CARE_KINDS, grace_days=5, collective_allowed=False),
)

DEFAULT_TRIGGER_RULES: tuple[TriggerRule, ...] = (
    # Pre-appointment integrity talk, often one collective talk for a batch of appointees.
    TriggerRule("appointment", "appointment", "head", frozenset({"pre_appointment"}),
                deadline_days=7, collective_allowed=True, window_before_days=7),
    TriggerRule("post-change", "post_change", "deputy_in_charge", frozenset({"triggered", "routine"}),
                deadline_days=14),
    TriggerRule("penalty", "penalty", "deputy_in_charge",
                frozenset({"triggered", "reminder", "admonition"}), deadline_days=7),
    TriggerRule("award", "award", "section_chief", frozenset({"triggered", "routine"}), deadline_days=14),
    TriggerRule("hospitalisation", "hospitalisation", "section_chief", frozenset({"triggered", "routine"}),
                deadline_days=7),
    TriggerRule("family-hardship", "family_hardship", "deputy_in_charge",
                frozenset({"triggered", "routine"}), deadline_days=7),
    # Rotation: the host leader in the first week (trigger date = first day in the host section,
    # so days 0..6), the home leader on return (trigger date = first day back).
    TriggerRule("rotation-start", "rotation_start", "host_section_chief",
                frozenset({"triggered", "routine"}), deadline_days=6),
    TriggerRule("rotation-return", "rotation_return", "home_section_chief",
                frozenset({"triggered", "routine"}), deadline_days=7),
)
