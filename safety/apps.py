from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "safety"
    verbose_name = "Safety: adverse events, CRS/ICANS, labs, DLT"

    def ready(self):
        from safety import rules
        from safety.dlt_settings_fields import DLT_FIELDS, DLT_GROUPS
        from trialsite.navigation import NavItem, register
        from trialsite.studies.roles import Action
        from trialsite.studies.study_settings import (
            SettingsSection,
            register_rules_module,
            register_section,
        )

        # The investigator's worklist of DLT candidates (safety/views_dlt.py).
        register(NavItem("DLT candidates", "safety:dlt-candidates", Action.ADJUDICATE_DLT, 300))
        register_rules_module("safety", "Toxicity grading and DLT (docs/rules/safety.md)", rules)
        register_section(
            SettingsSection(
                name="dlt_criteria",
                label="Dose-limiting toxicity criteria (from the protocol)",
                default=rules.DEFAULT_DLT_CRITERIA.to_dict(),
                validate=validate_dlt_criteria,
                fields=DLT_FIELDS,
                groups=DLT_GROUPS,
            )
        )
        _register_labs()
        _register_ae()
        _register_daily_crs_icans_forms()
        _register_sae()
        _register_status_hooks()


def _register_labs() -> None:
    """The lab baseline cut-off (RULES.md §3.4 [SETTING]); checked by safety.lab_baseline."""
    from safety import lab_baseline
    from trialsite.navigation import NavItem, register
    from trialsite.studies.roles import Action
    from trialsite.studies.study_settings import SettingsSection, register_section

    register(NavItem("Import lab results", "safety:lab-import", Action.ENTER_DATA, order=300))

    register_section(
        SettingsSection(
            name="safety_labs",
            label="Lab grading: which values are the baseline (docs/rules/safety.md)",
            defaults=dict(lab_baseline.SETTINGS_DEFAULTS),
            check=lab_baseline.validate_settings,
            ranges=dict(lab_baseline.SETTINGS_RANGES),
            help=dict(lab_baseline.SETTINGS_HELP),
            source=lab_baseline.__name__,
        )
    )


def _register_ae() -> None:
    """The CTCAE terms page in the menu, and the death check on the screen failure.

    A death can be recorded today on an AE (grade 5 needs its date and a fatal outcome: hard
    checks on the model; "results in death" without a grade 5 event: a soft check there) and as a
    screen failure "died" after consent. The follow-up death CRF (efficacy) must register the
    same ``subject_has_grade_5_event`` soft check when it lands (docs/architecture.md §12.1).
    """
    from django.utils.translation import gettext_lazy as _

    from enrollment.models import ScreenFailure, ScreenFailureCategory
    from safety.models.adverse_events import subject_has_grade_5_event
    from trialsite.navigation import NavItem, register
    from trialsite.records import edit_checks
    from trialsite.studies.roles import Action

    register(NavItem("CTCAE terms", "safety:ctcae-terms", Action.VIEW_CLINICAL, 700))

    def died_without_grade_5(failure) -> bool:
        return failure.category == ScreenFailureCategory.DIED and not subject_has_grade_5_event(
            failure.subject_id
        )

    edit_checks.register(
        ScreenFailure,
        edit_checks.soft(
            "SF-DEATH-NO-G5",
            "category",
            died_without_grade_5,
            _(
                "The subject died after consent but has no grade 5 adverse event: record the "
                "event that caused the death as grade 5."
            ),
        ),
    )


def _register_status_hooks() -> None:
    """A withdrawal, its reversal, a screen failure or an off-study record reaches the DLT
    evaluation in the same transaction (enrollment cannot import safety: it calls its hooks)."""
    from enrollment import status_hooks
    from safety.services.dlt import refresh_dlt_evaluation

    status_hooks.register(refresh_dlt_evaluation)


def _register_sae() -> None:
    """SAE reporting clocks: the study setting, the navigation entry and the beat task."""
    from safety import sae_clocks, sae_tasks  # noqa: F401  (sae_tasks registers the task)
    from trialsite.navigation import NavItem, register
    from trialsite.studies.roles import Action
    from trialsite.studies.study_settings import SettingsSection, register_section

    register(NavItem("Serious adverse events", "safety:sae-list", Action.VIEW_CLINICAL, 300))
    register_section(
        SettingsSection(
            name="sae_reporting",
            label="SAE reporting clocks (hours, calendar days) and safety contacts",
            default=sae_clocks.DEFAULT_SAE_REPORTING.to_dict(),
            validate=validate_sae_reporting,
            source="ICH E2A; 21 CFR 312.32; EU CT Regulation 536/2014 Art. 41-42",
        )
    )


def validate_sae_reporting(value: object) -> dict:
    """The stored section must load into safety.sae_clocks.SAEReportingSettings unchanged."""
    from safety.sae_clocks import SAEReportingSettings, validate_settings

    return SAEReportingSettings(**validate_settings(value)).to_dict()


def validate_dlt_criteria(value: object) -> dict:
    """The stored DLT criteria must load into safety.rules.DLTCriteria unchanged."""
    from safety.rules import DLTCriteria

    if not isinstance(value, dict):
        raise ValueError("dlt_criteria must be an object")
    return DLTCriteria.from_dict(value).to_dict()


def _register_daily_crs_icans_forms() -> None:
    """Daily CRS and ICANS assessments are expected every inpatient day, Day 0 to Day 14
    (issue #11: "from Day 0 to discharge"); later days are entered when CRS/ICANS is suspected."""
    from enrollment import expected_forms

    days = tuple(f"D{day}" for day in range(15))
    for order, (code, label) in enumerate(
        (("CRS", "Daily CRS assessment"), ("ICANS", "Daily ICANS assessment")), start=200
    ):
        expected_forms.register(
            expected_forms.ExpectedForm(code=code, label=label, visit_codes=days, order=order)
        )
