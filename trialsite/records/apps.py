from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "trialsite.records"
    label = "records"
    verbose_name = "Clinical records, audit trail and signatures"

    def ready(self) -> None:
        from trialsite import navigation
        from trialsite.records import tasks  # noqa: F401 - registers the tasks recompute sends
        from trialsite.studies.roles import Action

        navigation.register(
            navigation.NavItem(
                _("Recompute status"), "recompute-status", Action.MANAGE_STUDY, order=920
            )
        )
