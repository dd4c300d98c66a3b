"""The records core through the real database: audit trail, versions, reasons, locks, signatures."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from tests.factories import make_vitals
from tests.testapp.models import VitalSigns
from trialsite.records import selectors, services
from trialsite.records.exceptions import RecordLocked, SignatureRefused, StaleVersion
from trialsite.records.models import AuditEvent, RecordStatus, Signature
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db


def test_it_records_who_what_when_on_create(study, site_a, coordinator_a):
    record = make_vitals(study, site_a, coordinator_a)

    event = AuditEvent.objects.get(object_id=str(record.pk))
    assert event.action == "create"
    assert event.actor == coordinator_a
    assert event.actor_username == "coord_a"
    assert event.changes["weight_kg"] == [None, "70.0"]
    assert event.changes["subject_label"] == [None, "TJ-S-0001"]
    assert event.occurred_at == record.created_at
    assert event.record_version == 1


def test_it_records_field_level_old_and_new_values_with_the_reason(study, site_a, coordinator_a):
    record = make_vitals(study, site_a, coordinator_a)
    record = services.submit_record(record, actor=coordinator_a, expected_version=1)

    updated = services.update_record(
        record,
        actor=coordinator_a,
        values={"weight_kg": Decimal("71.5"), "note": "re-weighed"},
        expected_version=record.version,
        reason="Transcription error corrected from source",
    )

    event = AuditEvent.objects.filter(object_id=str(record.pk)).order_by("-sequence").first()
    assert event.action == "update"
    assert event.changes == {"note": ["", "re-weighed"], "weight_kg": ["70.0", "71.5"]}
    assert event.reason == "Transcription error corrected from source"
    assert updated.version == record.version + 1


def test_it_requires_a_reason_once_submitted(study, site_a, coordinator_a):
    record = make_vitals(study, site_a, coordinator_a)
    record = services.submit_record(record, actor=coordinator_a, expected_version=1)

    with pytest.raises(ValidationError) as excinfo:
        services.update_record(
            record, actor=coordinator_a, values={"note": "x"}, expected_version=record.version
        )

    assert excinfo.value.error_dict["reason"][0].code == "reason_required"
    assert VitalSigns.objects.get(pk=record.pk).note == ""


def test_a_draft_needs_no_reason(study, site_a, coordinator_a):
    record = make_vitals(study, site_a, coordinator_a)
    updated = services.update_record(
        record, actor=coordinator_a, values={"note": "first pass"}, expected_version=1
    )
    assert updated.note == "first pass"


def test_it_refuses_a_stale_version_and_names_who_changed_it(
    study, site_a, coordinator_a, investigator_a
):
    record = make_vitals(study, site_a, coordinator_a)
    services.update_record(
        record, actor=investigator_a, values={"note": "theirs"}, expected_version=1
    )

    with pytest.raises(StaleVersion) as excinfo:
        services.update_record(
            record, actor=coordinator_a, values={"note": "mine"}, expected_version=1
        )

    assert "This record was changed by inv_a at" in excinfo.value.message
    assert "reload to see their change" in excinfo.value.message
    assert VitalSigns.objects.get(pk=record.pk).note == "theirs"


def test_an_invalid_value_saves_nothing(study, site_a, coordinator_a):
    record = make_vitals(study, site_a, coordinator_a)
    data_version = Study.objects.get(pk=study.pk).data_version

    with pytest.raises(ValidationError) as excinfo:
        services.update_record(
            record,
            actor=coordinator_a,
            values={"weight_kg": Decimal("0"), "note": "x"},
            expected_version=1,
        )

    assert "weight_kg" in excinfo.value.error_dict
    fresh = VitalSigns.objects.get(pk=record.pk)
    assert (fresh.weight_kg, fresh.note, fresh.version) == (Decimal("70.0"), "", 1)
    assert AuditEvent.objects.filter(object_id=str(record.pk)).count() == 1
    assert Study.objects.get(pk=study.pk).data_version == data_version


def test_an_update_that_changes_nothing_writes_nothing(study, site_a, coordinator_a):
    record = make_vitals(study, site_a, coordinator_a)
    same = services.update_record(
        record, actor=coordinator_a, values={"weight_kg": Decimal("70.0")}, expected_version=1
    )
    assert same.version == 1
    assert AuditEvent.objects.filter(object_id=str(record.pk)).count() == 1


def test_every_clinical_write_bumps_the_study_data_version(study, site_a, coordinator_a):
    before = Study.objects.get(pk=study.pk).data_version
    record = make_vitals(study, site_a, coordinator_a)
    services.update_record(record, actor=coordinator_a, values={"note": "a"}, expected_version=1)
    assert Study.objects.get(pk=study.pk).data_version == before + 2


def test_a_locked_record_refuses_changes_until_unlocked(study, site_a, coordinator_a, data_manager):
    record = make_vitals(study, site_a, coordinator_a)
    record = services.submit_record(record, actor=coordinator_a, expected_version=1)
    record = services.change_status(
        record, actor=data_manager, status=RecordStatus.LOCKED, expected_version=record.version
    )

    with pytest.raises(RecordLocked):
        services.update_record(
            record,
            actor=coordinator_a,
            values={"note": "x"},
            expected_version=record.version,
            reason="late change",
        )
    with pytest.raises(RecordLocked):
        services.delete_record(
            record, actor=coordinator_a, expected_version=record.version, reason="duplicate"
        )
    with pytest.raises(ValidationError):
        services.change_status(
            record,
            actor=data_manager,
            status=RecordStatus.SUBMITTED,
            expected_version=record.version,
        )
    unlocked = services.change_status(
        record,
        actor=data_manager,
        status=RecordStatus.SUBMITTED,
        expected_version=record.version,
        reason="Query QRY-12 needs a correction",
    )
    assert unlocked.status == RecordStatus.SUBMITTED


def test_delete_keeps_the_last_values_in_the_audit_trail(study, site_a, coordinator_a):
    record = make_vitals(study, site_a, coordinator_a)
    pk = record.pk
    services.delete_record(
        record, actor=coordinator_a, expected_version=1, reason="Entered for the wrong subject"
    )
    assert not VitalSigns.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.filter(object_id=str(pk)).order_by("-sequence").first()
    assert event.action == "delete"
    assert event.changes["weight_kg"] == ["70.0", None]
    assert event.reason == "Entered for the wrong subject"


def test_a_signature_needs_the_password_and_binds_to_the_content(
    study, site_a, coordinator_a, investigator_a, password
):
    record = make_vitals(study, site_a, coordinator_a)
    record = services.submit_record(record, actor=coordinator_a, expected_version=1)

    with pytest.raises(SignatureRefused):
        services.sign_record(
            record,
            actor=investigator_a,
            password="wrong",
            meaning="I confirm",
            expected_version=record.version,
        )
    assert not Signature.objects.exists()

    signature = services.sign_record(
        record,
        actor=investigator_a,
        password=password,
        meaning="I confirm these values",
        expected_version=record.version,
    )
    record.refresh_from_db()
    state = selectors.signature_state(record)
    assert record.status == RecordStatus.SIGNED
    assert state.valid and state.signature == signature
    assert "I confirm these values" in state.message


def test_any_later_change_invalidates_the_signature_visibly(
    study, site_a, coordinator_a, investigator_a, password
):
    record = make_vitals(study, site_a, coordinator_a)
    record = services.submit_record(record, actor=coordinator_a, expected_version=1)
    services.sign_record(
        record,
        actor=investigator_a,
        password=password,
        meaning="I confirm",
        expected_version=record.version,
    )
    record.refresh_from_db()

    changed = services.update_record(
        record,
        actor=coordinator_a,
        values={"weight_kg": Decimal("69.0")},
        expected_version=record.version,
        reason="Corrected from source",
    )

    state = selectors.signature_state(changed)
    assert not state.valid
    assert "no longer valid" in state.message
    assert changed.status == RecordStatus.SUBMITTED
    assert Signature.objects.count() == 1  # kept, shown as invalid


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_editors_never_silently_overwrite(
    study, site_a, coordinator_a, investigator_a
):
    """Two users load version 1 and save at the same time: one wins, the other gets a conflict."""
    if connection.vendor == "sqlite":
        pytest.skip("Concurrent writers need a server database (PostgreSQL); SQLite serializes.")
    record = make_vitals(study, site_a, coordinator_a)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def edit(user, note):
        try:
            barrier.wait()
            services.update_record(record, actor=user, values={"note": note}, expected_version=1)
            outcomes[note] = "saved"
        except StaleVersion:
            outcomes[note] = "conflict"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=edit, args=(coordinator_a, "coordinator")),
        threading.Thread(target=edit, args=(investigator_a, "investigator")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(note for note, outcome in outcomes.items() if outcome == "saved")
    fresh = VitalSigns.objects.get(pk=record.pk)
    assert (fresh.note, fresh.version) == (winner, 2)
