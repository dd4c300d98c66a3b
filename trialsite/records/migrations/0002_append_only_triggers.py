"""On PostgreSQL, refuse UPDATE and DELETE on the append-only tables (docs/architecture.md §6).

The application never changes these rows; the trigger makes sure nothing else does either
(a stray script, an admin with a SQL console). SQLite has no such protection; there
``audit_verify`` detects changes through the hash chain instead.
"""

from django.db import migrations

APPEND_ONLY_TABLES = ("records_auditevent", "records_signature", "studies_studysettingsversion")

FUNCTION = """
CREATE OR REPLACE FUNCTION trialsite_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'trialsite: % on % is refused: audit records are append-only',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION trialsite_refuse_change();"
        )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS trialsite_refuse_change();")


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0001_initial"),
        ("studies", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, remove)]
