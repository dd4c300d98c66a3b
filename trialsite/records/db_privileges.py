"""What the application's database role may do: DML only, and only INSERT on append-only tables.

Two PostgreSQL roles (README "Database roles"): the *owner* role runs ``manage.py migrate``
(``MIGRATION_DATABASE_URL``) and owns every table; the *application* role (``DATABASE_URL``)
owns nothing. Because it owns nothing it cannot ``ALTER TABLE``, ``DISABLE TRIGGER``, drop or
create anything; because it is granted only what is below it cannot UPDATE, DELETE or TRUNCATE
an audit row even if the application is compromised. After every migration run as the owner,
``grant_application_privileges`` brings the grants up to date (new tables included).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from trialsite.records.models import AuditAnchor, AuditEvent, Signature
from trialsite.studies.models import MembershipChange, StudySettingsVersion

# Triggers: records 0002/0004; studies 0003 (the membership history).
APPEND_ONLY_MODELS = (AuditEvent, Signature, StudySettingsVersion, AuditAnchor, MembershipChange)


def append_only_tables() -> list[str]:
    """The tables whose rows are only ever inserted (triggers: records 0002/0004, studies 0003)."""
    return [model._meta.db_table for model in APPEND_ONLY_MODELS]


def grant_statements(app_role: str, quote) -> list[str]:
    """The SQL that gives ``app_role`` exactly the application's privileges in the schema."""
    role = quote(app_role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role}",
    ]
    statements += [
        f"REVOKE UPDATE, DELETE ON {quote(table)} FROM {role}" for table in append_only_tables()
    ]
    return statements


def grant_application_privileges(connection: BaseDatabaseWrapper, app_role: str) -> None:
    """Grant ``app_role`` the application's privileges (PostgreSQL; idempotent)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for statement in grant_statements(app_role, connection.ops.quote_name):
            cursor.execute(statement)
