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
