"""The audit anchor table, and on PostgreSQL the append-only guard for TRUNCATE too (issue 9 §1).

``0002`` refused UPDATE and DELETE row by row; ``TRUNCATE`` fires no row trigger, so it emptied
the audit table unopposed. This adds a statement-level ``BEFORE TRUNCATE`` trigger on every
append-only table, and both guards on the new ``records_auditanchor``. SQLite: no-op (there
``audit_verify`` detects tampering through the hash chains and the anchors).
"""

import django.db.models.deletion
from django.db import migrations, models

# A migration keeps its own list: it must install what it installed, whatever the code says later.
APPEND_ONLY_TABLES = (
    "records_auditevent",
    "records_signature",
    "studies_studysettingsversion",
    "records_auditanchor",
)


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE TRIGGER records_auditanchor_append_only BEFORE UPDATE OR DELETE "
        "ON records_auditanchor FOR EACH ROW EXECUTE FUNCTION trialsite_refuse_change();"
    )
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION trialsite_refuse_change();"
        )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};")
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS records_auditanchor_append_only ON records_auditanchor;"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0003_notification"),
        ("studies", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditAnchor",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("last_event_id", models.BigIntegerField()),
                ("last_hash", models.CharField(max_length=64)),
                ("event_count", models.PositiveBigIntegerField()),
                ("heads", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField()),
                ("prev_mac", models.CharField(blank=True, max_length=64)),
                ("mac", models.CharField(max_length=64, unique=True)),
                (
                    "study",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="audit_anchors",
                        to="studies.study",
                    ),
                ),
            ],
            options={
                "ordering": ["study", "id"],
                "indexes": [models.Index(fields=["study", "-id"], name="audit_anchor_latest")],
            },
        ),
        migrations.RunPython(install, remove),
    ]
