"""The columns of enrollment's list settings on the study-settings page (issue 10).

Each column cites the rule that reads it; the section's own validator
(``enrollment.schedule.validate_visit_schedule``,
``enrollment.consent_rules.validate_approved_icf_versions``) checks what is saved.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from enrollment.schedule import ANCHOR_DAY0, ANCHORS
from trialsite.studies.study_settings import SettingField

VISIT_FIELDS = (
    SettingField(
        "code",
        _("Code"),
        help=_("Unique; forms are expected at visits by code (enrollment.expected_forms)."),
        max_length=10,
    ),
    SettingField("label", _("Label"), max_length=80),
    SettingField(
        "day",
        _("Target day"),
        kind="integer",
        help=_(
            "Days from the anchor: Day 0 is the CAR-T infusion, days before it negative "
            "(enrollment.schedule.study_day); Day-0 visits in increasing days."
        ),
    ),
    SettingField(
        "window_before",
        _("Window before (days)"),
        kind="integer",
        help=_("0–366; the visit-window check (enrollment/plausibility.py, soft)."),
    ),
    SettingField("window_after", _("Window after (days)"), kind="integer", help=_("0–366.")),
    SettingField(
        "anchor",
        _("Anchor"),
        kind="choice",
        choices=ANCHORS,
        help=_("screening: from the screening date; day0: from the infusion."),
    ),
)


def visit_order(visit: dict) -> tuple:
    """Screening-anchored visits first, then Day-0 visits by day (the order they happen)."""
    return (visit.get("anchor") == ANCHOR_DAY0, visit.get("day") or 0)


ICF_FIELDS = (
    SettingField(
        "version",
        _("ICF version"),
        help=_("As printed on the form; 1–40 characters, each once (ICH E6(R3) §2.8.2)."),
        max_length=40,
    ),
    SettingField(
        "approved_on",
        _("Approved on"),
        kind="date",
        help=_(
            "The ethics committee's approval date; a consent signed before it is refused "
            "(enrollment.consent_rules.icf_version_problem)."
        ),
    ),
)


def icf_order(item: dict) -> str:
    return item.get("approved_on") or ""
