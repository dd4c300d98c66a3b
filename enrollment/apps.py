from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = "Enrollment: subjects, consent, screening, eligibility"

    def ready(self):
        from enrollment import consent_rules, rules, services, settings_fields
        from enrollment.schedule import DEFAULT_VISIT_SCHEDULE, validate_visit_schedule
        from trialsite.navigation import NavItem, register
        from trialsite.studies.roles import Action
        from trialsite.studies.study_settings import (
            SettingsSection,
            register_change_hook,
            register_rules_module,
            register_section,
        )

        register(NavItem("Screening log", "enrollment:screening-log", Action.VIEW_CLINICAL, 10))
        _register_screening_forms()
        register_rules_module("enrollment", "Eligibility rules (docs/rules/eligibility.md)", rules)
        register_change_hook(services.recompute_eligibility_for_settings)
        register_section(
            SettingsSection(
                name="visit_schedule",
                label="Visit schedule (days after infusion, windows in days)",
                default=DEFAULT_VISIT_SCHEDULE,
                validate=validate_visit_schedule,
                fields=settings_fields.VISIT_FIELDS,
                sort_key=settings_fields.visit_order,
            )
        )
        register_section(
            SettingsSection(
                name="approved_icf_versions",
                label="Approved ICF versions (version, approval date)",
                default=consent_rules.DEFAULT_APPROVED_ICF_VERSIONS,
                validate=consent_rules.validate_approved_icf_versions,
                fields=settings_fields.ICF_FIELDS,
                sort_key=settings_fields.icf_order,
            )
        )


def _register_screening_forms() -> None:
    """Every screening CRF is expected at the screening visit (pregnancy: women only)."""
    from enrollment import expected_forms
    from enrollment.models import SCREENING_CRFS, PregnancyAssessment

    for order, model in enumerate(SCREENING_CRFS, start=1):
        applies = (lambda s: s.sex == "F") if model is PregnancyAssessment else (lambda s: True)
        expected_forms.register(
            expected_forms.ExpectedForm(
                code=model.crf_code,
                label=str(model.crf_title),
                visit_codes=("SCR",),
                applies=applies,
                order=order,
            )
        )
