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
        register_section(
            SettingsSection(
                name="dosing_crf",
                label="Dosing CRFs: dose tolerance, BSA formula, DL-1 dose",
                defaults=dict(rules.DOSING_CRF_DEFAULTS),
                choices=dict(rules.DOSING_CRF_CHOICES),
                check=rules.validate_dosing_crf_settings,
                ranges=dict(rules.DOSING_CRF_RANGES),
                help=dict(rules.DOSING_CRF_HELP),
                source=rules.__name__,
            )
        )
        register_document_check(check_dl_minus1_dose)

        from dosing import services
        from trialsite.studies.study_settings import register_change_hook

        register_change_hook(services.sync_dose_levels)
        _register_expected_forms()

        from dosing import views
        from enrollment import subject_sections

        subject_sections.register(
            subject_sections.SubjectSection(
                "treatment", "dosing/_treatment_section.html", views.treatment_section, order=20
            )
        )

        from dosing import design_tasks, design_views  # noqa: F401  (the design run's task)
        from trialsite import navigation

        navigation.register(design_views.NAV_ITEM)

        from dosing import escalation_views, recompute_hooks
        from trialsite.records import recompute

        recompute.register("escalation")(recompute_hooks.escalation_hook)
        navigation.register(escalation_views.NAV_ITEM)


def check_atd_levels(document: dict) -> dict[str, str]:
    """The design must build with the study's number of dose levels (ATD within them)."""
    from dosing.rules import validate_settings
    from rulekit.settings import SettingsError

    try:
        validate_settings(document["dosing"], num_levels=len(document["dose_levels"]))
    except SettingsError as exc:
        return {f"dosing.{key}" if key else "dosing": msg for key, msg in exc.errors.items()}
    return {}


def check_dl_minus1_dose(document: dict) -> dict[str, str]:
    """DL-1, when configured, must be below DL1 (it is a de-escalation level)."""
    if not document["dosing"].get("dose_level_minus1"):
        return {}
    dl1 = document["dose_levels"][0]["dose_cells_per_kg"]
    if document["dosing_crf"]["dose_level_minus1_cells_per_kg"] >= dl1:
        return {
            "dosing_crf.dose_level_minus1_cells_per_kg": (
                f"DL-1 must be below DL1 ({dl1:g} cells/kg)"
            )
        }
    return {}


def _register_expected_forms() -> None:
    """Apheresis and release at the apheresis visit, lymphodepletion at LD, the infusion at D0.

    The visit codes are those of ``enrollment.schedule``; the visits exist once Day 0 is set.
    """
    from dosing.models import Apheresis, Infusion, Lymphodepletion, ProductRelease
    from enrollment import expected_forms

    for order, model in enumerate((Apheresis, ProductRelease, Lymphodepletion, Infusion), 50):
        expected_forms.register(
            expected_forms.ExpectedForm(
                code=model.crf_code,
                label=str(model.crf_title),
                visit_codes=(model.visit_code,),
                order=order,
            )
        )
