from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = "Dosing: dose levels, infusion and dose escalation"

    def ready(self):
        from dosing.levels import DEFAULT_DOSE_LEVELS, validate_dose_levels
        from trialsite.studies.study_settings import SettingsSection, register_section

        register_section(
            SettingsSection(
                name="dose_levels",
                label="Dose levels (CAR-T cells/kg)",
                default=DEFAULT_DOSE_LEVELS,
                validate=validate_dose_levels,
            )
        )
