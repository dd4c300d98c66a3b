"""On PostgreSQL, refuse UPDATE, DELETE and TRUNCATE on the membership history (issue 10).

``MembershipChange`` is who held which role where and when: an inspector reads it to know who
could sign or enter data on a given day (21 CFR 11.10(d), (g)). Like the audit table
(``records`` 0002/0004) it is append-only, and the database says so, not only the admin.

The studies app is the lowest layer and its migrations do not depend on ``records``, so the
guard function is its own (``studies_refuse_change``), with the same message and error code as
``trialsite_refuse_change``. The settings history (``studies_studysettingsversion``) is already
guarded by ``records`` 0002 and 0004. SQLite: no-op.
"""

from django.db import migrations

# A migration keeps its own list: it must install what it installed, whatever the code says later.
TABLE = "studies_membershipchange"

FUNCTION = """
CREATE OR REPLACE FUNCTION studies_refuse_change() RETURNS trigger AS $$
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
    schema_editor.execute(
        f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION studies_refuse_change();"
    )
    schema_editor.execute(
        f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION studies_refuse_change();"
    )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE};")
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE};")
    schema_editor.execute("DROP FUNCTION IF EXISTS studies_refuse_change();")


class Migration(migrations.Migration):
    dependencies = [("studies", "0002_membership_changes")]

    operations = [migrations.RunPython(install, remove)]
