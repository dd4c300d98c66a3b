"""Django's ``flush``, past the append-only TRUNCATE guard: for the test suite only.

Transactional tests (``transaction=True``, ``live_server``) end with ``flush``, which TRUNCATEs
every table; on PostgreSQL the audit tables refuse TRUNCATE (records migration 0004). The suite
connects as a superuser, so here the triggers are switched off for the flush's session, as
``session_replication_role = replica`` does for any superuser. The product has no such command.
"""

from django.core.management.commands.flush import Command as DjangoFlushCommand
from django.db import connections


class Command(DjangoFlushCommand):
    def handle(self, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            return super().handle(**options)
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
