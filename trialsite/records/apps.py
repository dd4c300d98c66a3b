from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def grant_after_migrate(sender, using, **kwargs):
    """After ``migrate`` as the owner role, give the application role its privileges."""
    from django.conf import settings
    from django.db import connections

    from trialsite.records.db_privileges import grant_application_privileges

    app_role = settings.DATABASES[DEFAULT_DB_ALIAS].get("USER")
    if using == DEFAULT_DB_ALIAS or not app_role:
        return
    if app_role == settings.DATABASES[using].get("USER"):
        return
    grant_application_privileges(connections[using], app_role)


class RecordsConfig(AppConfig):
    name = "trialsite.records"
    label = "records"
    verbose_name = "Clinical records, audit trail and signatures"

    def ready(self) -> None:
        from trialsite import navigation

        # Registers the audit anchor task and the tasks recompute sends with Celery.
        from trialsite.records import audit_tasks, checks, tasks  # noqa: F401
        from trialsite.studies.roles import Action

        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="records-grants")
        navigation.register(
            navigation.NavItem(
                _("Recompute status"), "recompute-status", Action.MANAGE_STUDY, order=920
            )
        )
