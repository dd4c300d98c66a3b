"""The DLT criteria on the study-settings page: one labelled field per key, in groups (issue 10).

Each help text says what the key does, from ``safety.rules.DLTCriteria`` (the protocol's DLT
list; ASTCT 2019 for CRS/ICANS, CTCAE v5.0 otherwise); the default is shown beside it. What is
saved is checked by ``safety.apps.validate_dlt_criteria`` (``DLTCriteria.from_dict``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from safety.rules import AE_CATEGORIES, RELATEDNESS_CATEGORIES
from trialsite.studies.study_settings import SettingField


def _grade(name, label, help_text):
    return SettingField(name, label, kind="integer", optional=True, help=help_text)


def _hours(name, label):
    return SettingField(
        name,
        label,
        kind="number",
        help=_("Hours allowed to resolve to grade ≤ 2; resolving in exactly that time is in time."),
    )


DLT_FIELDS = (
    SettingField(
        "related_categories",
        _("Relatedness that counts as related"),
        kind="choices",
        choices=RELATEDNESS_CATEGORIES,
        help=_("Investigator relatedness categories that count as related to the product."),
    ),
    SettingField(
        "crs_icans_presumed_related",
        _("CRS and ICANS presumed related"),
        kind="bool",
        help=_("Until relatedness is recorded (ASTCT 2019: effects of immune effector cells)."),
    ),
    SettingField(
        "grade5_is_dlt",
        _("Any related grade 5 event is a DLT"),
        kind="bool",
        help=_("Whatever its category or exemption."),
    ),
    SettingField(
        "related_grade_categories",
        _("Categories feeding the ATD trigger"),
        kind="choices",
        choices=AE_CATEGORIES,
        help=_(
            "Their related grades give max_related_grade (the ATD → 3+3 switch, RULES.md §4.2)."
        ),
    ),
    _grade(
        "crs_dlt_grade", _("CRS: DLT at grade"), _("At or above: a DLT at once; empty = never.")
    ),
    _grade(
        "crs_unresolved_dlt_grade",
        _("CRS: DLT if unresolved at grade"),
        _("≥ 3, below the at-once grade: a DLT unless it resolves in time; empty = no such rule."),
    ),
    _hours("crs_resolution_hours", _("CRS: hours to resolve")),
    _grade("icans_dlt_grade", _("ICANS: DLT at grade"), _("At or above: a DLT at once.")),
    _grade(
        "icans_unresolved_dlt_grade",
        _("ICANS: DLT if unresolved at grade"),
        _("≥ 3; empty = no such rule."),
    ),
    _hours("icans_resolution_hours", _("ICANS: hours to resolve")),
    _grade(
        "non_hematologic_dlt_grade",
        _("Non-haematologic: DLT at grade"),
        _("At or above: a DLT at once; empty = never at once."),
    ),
    _grade(
        "non_hematologic_unresolved_dlt_grade",
        _("Non-haematologic: DLT if unresolved at grade"),
        _("≥ 3; a grade 3 lab abnormality resolving within the hours is not a DLT."),
    ),
    _hours("non_hematologic_resolution_hours", _("Non-haematologic: hours to resolve")),
    SettingField(
        "grade4_nonheme_always_dlt",
        _("Grade 4 non-haematologic is always a DLT"),
        kind="bool",
        help=_("Regardless of duration; off leaves grade 4 to the resolve-within-hours rule."),
    ),
    SettingField(
        "exempt_terms",
        _("Exempt CTCAE terms"),
        kind="pairs",
        help=_("One “term: highest exempt grade” per line (expected CAR-T events, e.g. Fever: 3)."),
    ),
    SettingField(
        "electrolyte_terms",
        _("Electrolyte terms"),
        kind="lines",
        help=_("CTCAE v5.0 metabolism terms, one per line: grade 3 corrected in time is exempt."),
    ),
    SettingField(
        "electrolyte_correction_hours",
        _("Electrolytes: hours to correct"),
        kind="number",
        help=_("Corrected to grade ≤ 2 within these hours (inclusive)."),
    ),
    _grade(
        "hematologic_event_dlt_grade",
        _("Haematologic AE: DLT at grade"),
        _("Empty (default): haematologic DLT only as failure of count recovery (RULES.md §4.2)."),
    ),
    SettingField(
        "hematologic_recovery_day",
        _("Count recovery by study day"),
        kind="integer",
        optional=True,
        help=_("Empty = no haematologic DLT rule."),
    ),
    SettingField(
        "recovery_anc_10e9_l",
        _("Recovery ANC (10⁹/L, ≥)"),
        kind="number",
        help=_("Inclusive threshold."),
    ),
    SettingField(
        "recovery_platelets_10e9_l",
        _("Recovery platelets (10⁹/L, ≥)"),
        kind="number",
        help=_("Inclusive threshold."),
    ),
    SettingField(
        "recovery_hemoglobin_g_dl",
        _("Recovery haemoglobin (g/dL, ≥)"),
        kind="number",
        optional=True,
        help=_("Empty = haemoglobin is not part of recovery."),
    ),
    SettingField(
        "recovery_rule",
        _("Which count shows recovery"),
        kind="choice",
        choices=("last_count", "any_count"),
        help=_("last_count: the latest complete count in the lookback; any_count: any from Day 0."),
    ),
    SettingField(
        "recovery_lookback_days",
        _("Lookback before the recovery day (days)"),
        kind="integer",
        help=_("The ±7-day count window of RULES.md §1.1."),
    ),
    SettingField(
        "recovery_grace_days",
        _("Grace days for a usable count"),
        kind="integer",
        help=_("With no usable count by then the result is not assessable (a data query)."),
    ),
    SettingField(
        "recovery_excludes_transfused_platelets",
        _("Platelets within 7 days of a transfusion do not count"),
        kind="bool",
    ),
    SettingField(
        "recovery_excludes_transfused_red_cells",
        _("Haemoglobin within 7 days of a red-cell transfusion does not count"),
        kind="bool",
    ),
)

DLT_GROUPS = (
    (_("Relatedness"), ("related_categories", "crs_icans_presumed_related", "grade5_is_dlt",
                        "related_grade_categories")),
    (_("CRS (ASTCT 2019)"), ("crs_dlt_grade", "crs_unresolved_dlt_grade", "crs_resolution_hours")),
    (_("ICANS (ASTCT 2019)"), ("icans_dlt_grade", "icans_unresolved_dlt_grade",
                               "icans_resolution_hours")),
    (_("Non-haematologic toxicity (CTCAE v5.0)"), (
        "non_hematologic_dlt_grade", "non_hematologic_unresolved_dlt_grade",
        "non_hematologic_resolution_hours", "grade4_nonheme_always_dlt")),
    (_("Exemptions"), ("exempt_terms", "electrolyte_terms", "electrolyte_correction_hours")),
    (_("Haematologic DLT: count recovery"), (
        "hematologic_event_dlt_grade", "hematologic_recovery_day", "recovery_anc_10e9_l",
        "recovery_platelets_10e9_l", "recovery_hemoglobin_g_dl", "recovery_rule",
        "recovery_lookback_days", "recovery_grace_days",
        "recovery_excludes_transfused_platelets", "recovery_excludes_transfused_red_cells")),
)  # fmt: skip
