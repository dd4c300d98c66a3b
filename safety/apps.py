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


def validate_dlt_criteria(value: object) -> dict:
    """The stored DLT criteria must load into safety.rules.DLTCriteria unchanged."""
    from safety.rules import DLTCriteria

    if not isinstance(value, dict):
        raise ValueError("dlt_criteria must be an object")
    return DLTCriteria.from_dict(value).to_dict()
