"""The columns of the dose-level table on the study-settings page (issue 10).

What is saved is checked by ``dosing.levels.validate_dose_levels``; the escalation design
(``dosing.rules``) reads the levels.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from trialsite.studies.study_settings import SettingField

DOSE_LEVEL_FIELDS = (
    SettingField(
        "level",
        _("Level"),
        kind="position",
        help=_("Numbered 1..n from the lowest dose (validate_dose_levels)."),
    ),
    SettingField(
        "label",
        _("Label"),
        help=_("As the protocol names the level, e.g. DL1."),
        max_length=20,
    ),
    SettingField(
        "dose_cells_per_kg",
        _("Dose (CAR-T cells/kg)"),
        kind="number",
        help=_(
            "Each level above the one below (validate_dose_levels); the lowest atd_levels "
            "levels run as single-subject ATD cohorts (dosing.rules, RULES.md §4.2)."
        ),
    ),
)
