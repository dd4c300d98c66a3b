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
        _register_sae()


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
