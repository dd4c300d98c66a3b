"""The audit trail cannot be changed unnoticed: ``audit_verify`` and the PostgreSQL trigger."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from tests.testapp.models import VitalSigns
from trialsite.records import services
from trialsite.records.models import AuditEvent

pytestmark = pytest.mark.django_db


def make_history(study, site, actor):
    record = services.create_record(
        VitalSigns,
        actor=actor,
        study=study,
        values={"site": site, "subject_label": "TJ-S-0002", "weight_kg": Decimal("60.0")},
    )
    for note in ("a", "b"):
        record = services.update_record(
            record, actor=actor, values={"note": note}, expected_version=record.version
        )
    return record


def tamper(sql: str, params: list) -> None:
    """Change audit rows behind the application's back, as a SQL console would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The superuser test role switches the append-only trigger off for this session.
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_it_verifies_an_untouched_trail(study, site_a, coordinator_a, capsys):
    make_history(study, site_a, coordinator_a)
    call_command("audit_verify")
    assert "All audit chains verify (3 audit rows)" in capsys.readouterr().out


def test_it_names_a_record_whose_audit_row_was_altered(study, site_a, coordinator_a, capsys):
    record = make_history(study, site_a, coordinator_a)
    untouched = make_history(study, site_a, coordinator_a)
    event = AuditEvent.objects.get(object_id=str(record.pk), sequence=2)
    tamper("UPDATE records_auditevent SET reason = %s WHERE id = %s", ["forged", event.pk])

    with pytest.raises(CommandError, match="1 record"):
        call_command("audit_verify")

    err = capsys.readouterr().err
    assert f"testapp.vitalsigns #{record.pk}" in err
    assert "audit row 2 was altered" in err
    assert f"#{untouched.pk} " not in err


def test_it_names_a_record_whose_audit_row_was_deleted(study, site_a, coordinator_a, capsys):
    record = make_history(study, site_a, coordinator_a)
    event = AuditEvent.objects.get(object_id=str(record.pk), sequence=2)
    tamper("DELETE FROM records_auditevent WHERE id = %s", [event.pk])

    with pytest.raises(CommandError):
        call_command("audit_verify")
    assert "audit row 2 is missing" in capsys.readouterr().err


def test_postgresql_refuses_to_update_or_delete_audit_rows(study, site_a, coordinator_a):
    if connection.vendor != "postgresql":
        pytest.skip("The append-only trigger exists on PostgreSQL only (set DATABASE_URL).")
    record = make_history(study, site_a, coordinator_a)
    event = AuditEvent.objects.get(object_id=str(record.pk), sequence=1)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.get(pk=event.pk).reason == ""
    assert VitalSigns.objects.filter(pk=record.pk).exists()
