"""`manage.py check --database default`: warn if the application role could cut the audit trail.

A database check (Django runs it only when asked with ``--database``): on PostgreSQL the role of
``DATABASE_URL`` must be no superuser, own no table and hold no UPDATE, DELETE or TRUNCATE on an
append-only table (README "Database roles", issue 9 §1).
"""

from __future__ import annotations

from django.core.checks import Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, connections

from trialsite.records.db_privileges import append_only_tables


@register(Tags.database)
def application_role_cannot_rewrite_the_audit_trail(app_configs=None, databases=None, **kwargs):
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper, (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid "
            "AND c.relnamespace = 'public'::regnamespace) FROM pg_roles r "
            "WHERE r.rolname = current_user"
        )
        superuser, owned = cursor.fetchone()
        cursor.execute(
            "SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NOT NULL AND ("
            "has_table_privilege(t, 'UPDATE') OR has_table_privilege(t, 'DELETE') "
            "OR has_table_privilege(t, 'TRUNCATE'))",
            [append_only_tables()],
        )
        writable = [row[0] for row in cursor.fetchall()]
    problems = []
    if superuser:
        problems.append("is a superuser")
    if owned:
        problems.append(f"owns {owned} tables or sequences")
    if writable:
        problems.append(f"may UPDATE, DELETE or TRUNCATE {', '.join(writable)}")
    if not problems:
        return []
    return [
        Warning(
            f"DATABASE_URL's role {connection.settings_dict.get('USER')!r} "
            + " and ".join(problems)
            + ": it could cut or rewrite the audit trail.",
            hint="Connect as an application role that owns nothing and migrate with "
            "MIGRATION_DATABASE_URL (README 'Database roles').",
            id="trialsite.W101",
        )
    ]
