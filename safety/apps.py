from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "safety"
    verbose_name = "Safety: adverse events, CRS/ICANS, labs, DLT"

    def ready(self):
        from safety import rules
        from trialsite.studies.study_settings import (
            SettingsSection,
            register_rules_module,
            register_section,
        )

        register_rules_module("safety", "Toxicity grading and DLT (docs/rules/safety.md)", rules)
        register_section(
            SettingsSection(
                name="dlt_criteria",
                label="Dose-limiting toxicity criteria (from the protocol)",
                default=rules.DEFAULT_DLT_CRITERIA.to_dict(),
                validate=validate_dlt_criteria,
            )
        )
        _register_daily_crs_icans_forms()


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
