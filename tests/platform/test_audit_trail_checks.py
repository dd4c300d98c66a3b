"""``audit_verify`` checks each chain against its record and its last HMAC anchor (issue 9 §1).

These run on SQLite and on PostgreSQL; ``tests/integration/test_audit_tampering.py`` repeats the
attacks as a PostgreSQL superuser switching the append-only triggers off.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.testapp.models import VitalSigns
from trialsite.records import services
from trialsite.records.anchors import anchor_time, write_anchor
from trialsite.records.audit import _clinical_models, verify_chains, verify_trail
from trialsite.records.models import AuditAnchor, AuditEvent

pytestmark = pytest.mark.django_db


def make_history(study, site, actor, label="TJ-S-0002", notes=("a", "b")):
    """A vital-signs record at version 1 + len(notes): one create and one update per note."""
    record = services.create_record(
        VitalSigns,
        actor=actor,
        study=study,
        values={"site": site, "subject_label": label, "weight_kg": Decimal("60.0")},
    )
    for note in notes:
        record = services.update_record(
            record, actor=actor, values={"note": note}, expected_version=record.version
        )
    return record


def tamper(*statements: tuple[str, list]) -> None:
    """Change audit rows behind the application's back, as a database superuser would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        for sql, params in statements:
            cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def events_of(record) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_id=str(record.pk)).order_by("sequence"))


def rehash_from(record, sequence: int, reason: str) -> None:
    """Rewrite one row and recompute its hash and every later hash: a consistent forgery."""
    statements, prev = [], None
    for event in events_of(record):
        if event.sequence == sequence:
            event.reason = reason
        if event.sequence >= sequence:
            event.prev_hash = prev or event.prev_hash
            event.hash = hashlib.sha256(event.payload().encode()).hexdigest()
            statements.append(
                (
                    "UPDATE records_auditevent SET reason = %s, prev_hash = %s, hash = %s "
                    "WHERE id = %s",
                    [event.reason, event.prev_hash, event.hash, event.pk],
                )
            )
        prev = event.hash
    tamper(*statements)


def verify_fails(capsys) -> str:
    with pytest.raises(CommandError, match="have a broken audit trail"):
        call_command("audit_verify")
    return capsys.readouterr().err


def test_an_untouched_anchored_trail_verifies_clean(study, site_a, coordinator_a, capsys):
    make_history(study, site_a, coordinator_a)
    write_anchor(study)
    make_history(study, site_a, coordinator_a, label="TJ-S-0003")  # after the anchor
    services.delete_record(
        make_history(study, site_a, coordinator_a, label="TJ-S-0004", notes=()),
        actor=coordinator_a,
        expected_version=1,
        reason="entered for the wrong subject",
    )
    write_anchor(study)

    assert verify_trail() == []
    call_command("audit_verify")
    assert "All audit chains verify (8 audit rows)" in capsys.readouterr().out


def test_a_deleted_tail_is_reported_against_the_record_version(
    study, site_a, coordinator_a, capsys
):
    record = make_history(study, site_a, coordinator_a)
    untouched = make_history(study, site_a, coordinator_a, label="TJ-S-0003")
    last = events_of(record)[-1]
    tamper(("DELETE FROM records_auditevent WHERE id = %s", [last.pk]))

    err = verify_fails(capsys)
    assert (
        f"testapp.vitalsigns #{record.pk} (Vital signs TJ-S-0002): "
        "the audit trail ends at version 2"
    ) in err
    assert "(2 rows) but the record is at version 3 (rows removed from the end)" in err
    assert f"vitalsigns #{untouched.pk} " not in err


def test_a_record_whose_creation_event_was_deleted_is_reported(
    study, site_a, coordinator_a, capsys
):
    record = make_history(study, site_a, coordinator_a)
    only_created = make_history(study, site_a, coordinator_a, label="TJ-S-0003", notes=())
    tamper(
        (
            "DELETE FROM records_auditevent WHERE object_id IN (%s, %s) AND sequence = 1",
            [str(record.pk), str(only_created.pk)],
        )
    )

    err = verify_fails(capsys)
    assert (
        f"#{record.pk} (Vital signs TJ-S-0002): its creation event (audit row 1) is missing" in err
    )
    assert (
        f"#{only_created.pk} (Vital signs TJ-S-0003): "
        "the record has no audit trail: its creation event"
    ) in err


def test_a_deleted_records_missing_deletion_row_is_reported(study, site_a, coordinator_a, capsys):
    record = make_history(study, site_a, coordinator_a, notes=())
    pk = record.pk
    services.delete_record(record, actor=coordinator_a, expected_version=1, reason="duplicate")
    deletion = AuditEvent.objects.get(object_id=str(pk), action="delete")
    tamper(("DELETE FROM records_auditevent WHERE id = %s", [deletion.pk]))

    assert (
        f"#{pk} (Vital signs TJ-S-0002): the record is gone but its audit trail ends at row 1"
        in (verify_fails(capsys))
    )


def test_a_consistently_rehashed_chain_is_reported_against_its_anchor(
    study, site_a, coordinator_a, capsys
):
    record = make_history(study, site_a, coordinator_a)
    anchor = write_anchor(study)
    rehash_from(record, 2, "forged reason")
    assert list(verify_chains()) == []  # every hash link still verifies

    err = verify_fails(capsys)
    assert (
        f"testapp.vitalsigns #{record.pk} (Vital signs TJ-S-0002): audit row 3 no longer "
        f"matches the anchor of {anchor_time(anchor)} (the chain was rewritten and re-hashed)"
    ) in err


def test_a_removed_range_is_reported_against_the_anchor(study, site_a, coordinator_a, capsys):
    gone = make_history(study, site_a, coordinator_a, notes=("a",))
    gone_pk = gone.pk
    services.delete_record(gone, actor=coordinator_a, expected_version=2, reason="duplicate")
    kept = make_history(study, site_a, coordinator_a, label="TJ-S-0003")
    anchor = write_anchor(study)
    tamper(("DELETE FROM records_auditevent WHERE object_id = %s", [str(gone_pk)]))

    err = verify_fails(capsys)
    assert (
        f"testapp.vitalsigns #{gone_pk} (Vital signs TJ-S-0002): its whole audit trail is gone "
        f"(rows 1–3 were anchored at {anchor_time(anchor)})"
    ) in err
    assert (
        f"studies.study #{study.pk} ({study.protocol_number}): 3 of the 6 audit rows anchored "
        f"at {anchor_time(anchor)} are gone"
    ) in err
    assert f"vitalsigns #{kept.pk} " not in err


def test_a_forged_or_foreign_key_anchor_is_reported(study, site_a, coordinator_a, capsys):
    make_history(study, site_a, coordinator_a)
    anchor = write_anchor(study, key="another-key-that-the-site-does-not-hold")

    err = verify_fails(capsys)
    assert f"records.auditanchor #{anchor.pk} ({study.protocol_number} anchor of " in err
    assert "does not verify with AUDIT_ANCHOR_KEY" in err


def test_anchoring_twice_without_new_audit_rows_writes_nothing(study, site_a, coordinator_a):
    make_history(study, site_a, coordinator_a)
    first = write_anchor(study)
    assert write_anchor(study) is None
    make_history(study, site_a, coordinator_a, label="TJ-S-0003", notes=())
    second = write_anchor(study)

    assert second.prev_mac == first.mac
    assert list(second.heads.values())[0][0] == 1  # only the new chain, at its row 1
    assert second.event_count == 4
    assert AuditAnchor.objects.filter(study=study).count() == 2


def test_the_anchor_command_names_each_study_it_anchored(study, site_a, coordinator_a, capsys):
    make_history(study, site_a, coordinator_a)
    call_command("audit_anchor")
    out = capsys.readouterr().out
    assert f"Anchored {study.protocol_number}: audit row #" in out and "3 rows" in out
    call_command("audit_anchor")
    assert "Nothing new to anchor." in capsys.readouterr().out


def test_verification_queries_do_not_grow_with_the_trail(
    study, site_a, coordinator_a, django_assert_num_queries
):
    make_history(study, site_a, coordinator_a)
    write_anchor(study)
    # Content types, anchors, audit rows, and one query per CRF model for the records' versions.
    expected = 3 + len(_clinical_models())
    with django_assert_num_queries(expected):
        assert verify_trail(study.pk) == []
    for n in range(4):
        make_history(study, site_a, coordinator_a, label=f"TJ-S-01{n}")
    write_anchor(study)
    with django_assert_num_queries(expected):
        assert verify_trail(study.pk) == []


def test_anchoring_takes_the_same_queries_however_long_the_trail(
    study, site_a, coordinator_a, django_assert_num_queries
):
    make_history(study, site_a, coordinator_a)
    # savepoint, study lock, previous anchor, new rows, row count, insert, release
    with django_assert_num_queries(7):
        write_anchor(study)
    for n in range(4):
        make_history(study, site_a, coordinator_a, label=f"TJ-S-02{n}")
    with django_assert_num_queries(7):
        anchor = write_anchor(study)
    assert len(anchor.heads) == 4
