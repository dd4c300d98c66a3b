from django.apps import AppConfig
from django.conf import settings


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"

    def ready(self):
        # Only the worker processes of the worker-kill test run the snapshot hook on every save;
        # in-process tests register it themselves when they need it.
        if getattr(settings, "TESTAPP_RECOMPUTE_HOOK", False):
            from tests.testapp.recompute_hooks import summarize_vitals
            from trialsite.records import recompute

            recompute.register("vitals-summary")(summarize_vitals)
