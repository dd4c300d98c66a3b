"""``manage.py migrate``, run as the owner role when ``MIGRATION_DATABASE_URL`` is set.

The application role (``DATABASE_URL``) owns nothing and may not change the schema, so the
migrations run through the ``owner`` alias; afterwards the application role's grants are
refreshed (``trialsite.records.apps.grant_after_migrate``). Without ``MIGRATION_DATABASE_URL``
(SQLite, ``make run``) this is Django's ``migrate`` unchanged. ``--database`` still wins.
"""

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import DEFAULT_DB_ALIAS

OWNER_ALIAS = "owner"


class Command(DjangoMigrateCommand):
    help = DjangoMigrateCommand.help + " Runs as MIGRATION_DATABASE_URL's role when it is set."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        default = OWNER_ALIAS if OWNER_ALIAS in settings.DATABASES else DEFAULT_DB_ALIAS
        parser.set_defaults(database=default)
