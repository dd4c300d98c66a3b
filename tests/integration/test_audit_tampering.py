"""Issue 9 §1 on real PostgreSQL: tampering as a superuser; what the application role may do.

The attacks run as the test suite's superuser with ``session_replication_role = replica``, which
switches the append-only triggers off, exactly as someone with a SQL console would; each must
be named by ``manage.py audit_verify``, which exits non-zero. The application role's test gives
a fresh role the production grants (``db_privileges``) and ``SET ROLE``s to it.
"""

from __future__ import annotations

import os

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from tests.platform.test_audit_trail_checks import events_of, make_history, rehash_from, tamper
from tests.testapp.models import VitalSigns
from trialsite.records.anchors import anchor_time, write_anchor
from trialsite.records.checks import application_role_cannot_rewrite_the_audit_trail
from trialsite.records.db_privileges import append_only_tables, grant_application_privileges
from trialsite.records.models import AuditAnchor

pytestmark = pytest.mark.django_db


@pytest.fixture
def postgresql(db):
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL (DATABASE_URL=postgres://...) as a superuser.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("The tampering tests connect as a superuser, as an attacker would.")


@pytest.fixture
def trail(postgresql, study, site_a, coordinator_a):
    """Two records with three audit rows each, anchored, and one unrelated record."""
    target = make_history(study, site_a, coordinator_a)
    bystander = make_history(study, site_a, coordinator_a, label="TJ-S-0003")
    anchor = write_anchor(study)
    return target, bystander, anchor


def audit_verify_errors(capsys) -> str:
    with pytest.raises(CommandError, match="have a broken audit trail"):
        call_command("audit_verify")
    return capsys.readouterr().err


def test_an_untouched_database_verifies_clean(trail, capsys):
    call_command("audit_verify")
    assert "All audit chains verify (6 audit rows)." in capsys.readouterr().out


def test_altering_a_middle_row_is_reported(trail, capsys):
    target, bystander, _ = trail
    middle = events_of(target)[1]
    tamper(("UPDATE records_auditevent SET reason = 'forged' WHERE id = %s", [middle.pk]))

    err = audit_verify_errors(capsys)
    assert f"vitalsigns #{target.pk} (Vital signs TJ-S-0002): audit row 2 was altered" in err
    assert f"vitalsigns #{bystander.pk} " not in err


def test_deleting_the_tail_is_reported(trail, capsys):
    target, bystander, anchor = trail
    tamper(("DELETE FROM records_auditevent WHERE id = %s", [events_of(target)[-1].pk]))

    err = audit_verify_errors(capsys)
    assert (
        f"vitalsigns #{target.pk} (Vital signs TJ-S-0002): the audit trail ends at version 2 "
        "(2 rows) but the record is at version 3"
    ) in err
    assert f"audit rows 3–3 are gone (anchored at {anchor_time(anchor)})" in err
    assert f"vitalsigns #{bystander.pk} " not in err


def test_rehashing_a_whole_chain_is_reported(trail, capsys):
    target, bystander, anchor = trail
    rehash_from(target, 1, "forged from the start")

    err = audit_verify_errors(capsys)
    assert (
        f"vitalsigns #{target.pk} (Vital signs TJ-S-0002): audit row 3 no longer matches the "
        f"anchor of {anchor_time(anchor)} (the chain was rewritten and re-hashed)"
    ) in err
    assert f"vitalsigns #{bystander.pk} " not in err


def test_truncating_the_audit_table_is_reported(trail, study, capsys):
    target, bystander, anchor = trail
    tamper(("SET CONSTRAINTS ALL IMMEDIATE", []), ("TRUNCATE records_auditevent", []))

    err = audit_verify_errors(capsys)
    for record in (target, bystander):
        assert (
            f"vitalsigns #{record.pk} ({record}): the record has no audit trail: its creation "
            "event (audit row 1) is missing"
        ) in err
        assert f"vitalsigns #{record.pk} ({record}): its whole audit trail is gone" in err
    assert (
        f"studies.study #{study.pk} ({study.protocol_number}): 6 of the 6 audit rows anchored "
        f"at {anchor_time(anchor)} are gone"
    ) in err


def test_deleting_a_creation_event_is_reported(trail, capsys):
    target, bystander, _ = trail
    tamper(("DELETE FROM records_auditevent WHERE id = %s", [events_of(target)[0].pk]))

    err = audit_verify_errors(capsys)
    assert (
        f"vitalsigns #{target.pk} (Vital signs TJ-S-0002): its creation event (audit row 1) "
        "is missing"
    ) in err
    assert f"vitalsigns #{bystander.pk} " not in err


@pytest.mark.parametrize("table", append_only_tables())
def test_postgresql_refuses_to_truncate_an_append_only_table(trail, table):
    with pytest.raises(DatabaseError, match="TRUNCATE on .* is refused"), transaction.atomic():  # noqa: SIM117
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks in the way
            cursor.execute(f"TRUNCATE {connection.ops.quote_name(table)}")


def test_postgresql_refuses_to_update_or_delete_an_anchor(trail):
    _, _, anchor = trail
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditAnchor.objects.filter(pk=anchor.pk).update(event_count=0)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditAnchor.objects.filter(pk=anchor.pk).delete()


def refused(sql: str, match: str) -> None:
    with pytest.raises(DatabaseError, match=match), transaction.atomic():  # noqa: SIM117
        with connection.cursor() as cursor:
            cursor.execute(sql)


def test_the_application_role_can_work_but_cannot_alter_delete_truncate_or_disable_triggers(
    postgresql, study, site_a, coordinator_a
):
    role = f"trialsite_test_app_{os.getpid()}"
    [warning] = application_role_cannot_rewrite_the_audit_trail(databases=["default"])
    assert warning.id == "trialsite.W101" and "is a superuser" in warning.msg
    with connection.cursor() as cursor:
        # Inside the test's transaction: the role and its grants vanish at rollback.
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')
        grant_application_privileges(connection, role)
        cursor.execute(f'SET LOCAL ROLE "{role}"')
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == role

    # The application still does its work: a record, its audit row, the study's data version.
    record = make_history(study, site_a, coordinator_a)
    assert VitalSigns.objects.get(pk=record.pk).version == 3
    write_anchor(study)

    for table in append_only_tables():
        refused(f"UPDATE {table} SET id = id", "permission denied")
        refused(f"DELETE FROM {table}", "permission denied")
        refused(f"TRUNCATE {table}", "permission denied")
        refused(f"ALTER TABLE {table} DISABLE TRIGGER ALL", "must be owner")
    refused("ALTER TABLE records_auditevent ADD COLUMN forged text", "must be owner")
    refused("DROP TABLE records_auditevent", "must be owner")
    refused("DROP TRIGGER records_auditevent_append_only ON records_auditevent", "must be owner")
    refused("TRUNCATE studies_study CASCADE", "permission denied")
    refused("CREATE TABLE forged (id int)", "permission denied for schema public")
    refused("SET session_replication_role = replica", "permission denied")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = current_user"
        )
        assert cursor.fetchone()[0] == 0  # it owns nothing
    assert application_role_cannot_rewrite_the_audit_trail(databases=["default"]) == []
