from django.apps import AppConfig


class EfficacyConfig(AppConfig):
    name = "efficacy"
    verbose_name = "Efficacy: response, MRD, survival, kinetics"

    def ready(self):
        from efficacy import rules
        from trialsite.studies.study_settings import register_rules_module

        register_rules_module(
            "efficacy", "Response and endpoint rules (docs/rules/efficacy.md)", rules
        )
        _register_response_crfs()
        _register_samples()
        _register_dashboard()


def _register_response_crfs() -> None:
    """The response assessment is expected at the response visits (Months 1, 2, 3, 6, 9, 12:
    issue #13); the subject page shows the Efficacy section (responses, follow-up, events)."""
    from efficacy import views
    from efficacy.models.response import TIMEPOINT_VISIT
    from enrollment import expected_forms, subject_sections

    expected_forms.register(
        expected_forms.ExpectedForm(
            code="RESP",
            label="Response assessment (ELN 2022)",
            visit_codes=tuple(TIMEPOINT_VISIT.values()),
            order=400,
        )
    )
    subject_sections.register(
        subject_sections.SubjectSection(
            "efficacy", "efficacy/_efficacy_section.html", views.efficacy_section, order=60
        )
    )


def _register_samples() -> None:
    """Kinetics, anti-CAR and RCL samples: the subject page's section and the import's menu."""
    from efficacy import views_samples
    from enrollment import subject_sections
    from trialsite.navigation import NavItem, register
    from trialsite.studies.roles import Action

    subject_sections.register(
        subject_sections.SubjectSection(
            "efficacy_samples",
            "efficacy/_samples_section.html",
            views_samples.samples_section,
            order=61,
        )
    )
    register(NavItem("Import efficacy samples", "efficacy:sample-import", Action.ENTER_DATA, 310))


def _register_dashboard() -> None:
    """The efficacy dashboard in the navigation, for every role on the study."""
    from efficacy import views_dashboard
    from trialsite import navigation

    navigation.register(views_dashboard.NAV_ITEM)
