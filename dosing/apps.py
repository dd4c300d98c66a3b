from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = "Dosing: dose levels, infusion and dose escalation"

    def ready(self):
        from dosing import rules
        from dosing.levels import DEFAULT_DOSE_LEVELS, validate_dose_levels
        from dosing.settings_fields import DOSE_LEVEL_FIELDS
        from trialsite.studies.study_settings import (
            SettingsSection,
            register_document_check,
            register_rules_module,
            register_section,
        )

        # The number of levels comes from the dose_levels section, not from this one.
        register_rules_module("dosing", "Dose-escalation design (docs/rules/escalation.md)", rules)

        register_section(
            SettingsSection(
                name="dose_levels",
                label="Dose levels (CAR-T cells/kg)",
                default=DEFAULT_DOSE_LEVELS,
                validate=validate_dose_levels,
                fields=DOSE_LEVEL_FIELDS,
                # Saved lowest dose first and numbered 1..n by place (validate_dose_levels).
                sort_key=lambda level: level["dose_cells_per_kg"] or 0,
            )
        )
        register_document_check(check_atd_levels)

        from dosing import design_tasks, design_views  # noqa: F401  (the design run's task)
        from trialsite import navigation

        navigation.register(design_views.NAV_ITEM)


def check_atd_levels(document: dict) -> dict[str, str]:
    """The design must build with the study's number of dose levels (ATD within them)."""
    from dosing.rules import validate_settings
    from rulekit.settings import SettingsError

    try:
        validate_settings(document["dosing"], num_levels=len(document["dose_levels"]))
    except SettingsError as exc:
        return {f"dosing.{key}" if key else "dosing": msg for key, msg in exc.errors.items()}
    return {}
