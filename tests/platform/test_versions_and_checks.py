"""No write without the version it read; declarative edit checks; automatic data queries.

Records-core behaviour on the test-only CRF (``tests.testapp.VitalSigns``), so every CRF built on
the base inherits it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from tests.factories import PASSWORD, make_vitals
from tests.testapp.models import VitalSigns
from trialsite.records import edit_checks, queries, services
from trialsite.records.exceptions import VersionRequired
from trialsite.records.models import AuditEvent, ClinicalRecord, DataQuery, QueryMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def heavy_weight_query():
    """A soft check registered on the abstract base: it must run for every subclass."""
    check = edit_checks.soft(
        "VS-WT-HIGH",
        "weight_kg",
        lambda r: getattr(r, "weight_kg", None) is not None and r.weight_kg > 200,
        "Weight above 200 kg: confirm against source.",
    )
    edit_checks.register(ClinicalRecord, check)
    yield check
    edit_checks._REGISTERED[ClinicalRecord].remove(check)


@pytest.fixture
def no_note_shouting():
    check = edit_checks.hard(
        "VS-NOTE-CAPS", "note", lambda r: r.note.isupper(), "Write the note in sentence case."
    )
    edit_checks.register(VitalSigns, check)
    yield check
    edit_checks._REGISTERED[VitalSigns].remove(check)


@pytest.mark.parametrize(
    "write",
    [
        lambda r, u: services.update_record(
            r, actor=u, values={"note": "x"}, expected_version=None, reason="r"
        ),
        lambda r, u: services.delete_record(r, actor=u, expected_version=None, reason="r"),
        lambda r, u: services.change_status(r, actor=u, status="verified", expected_version=None),
        lambda r, u: services.sign_record(
            r, actor=u, password=PASSWORD, meaning="m", expected_version=None
        ),
    ],
    ids=["update", "delete", "status", "sign"],
)
def test_every_core_write_refuses_a_missing_version(study, site_a, coordinator_a, write):
    record = make_vitals(study, site_a, coordinator_a)
    events = AuditEvent.objects.count()
    with pytest.raises(VersionRequired):
        write(record, coordinator_a)
    record.refresh_from_db()
    assert record.version == 1 and record.note == ""
    assert AuditEvent.objects.count() == events


def test_unread_is_the_only_way_to_write_without_a_version(study, site_a, coordinator_a):
    record = make_vitals(study, site_a, coordinator_a)
    changed = services.update_record(
        record,
        actor=coordinator_a,
        values={"note": "derived"},
        expected_version=services.UNREAD,
        reason="",
    )
    assert changed.version == 2
    assert repr(services.UNREAD) == "UNREAD"


def test_the_form_refuses_an_edit_without_the_version(client, study, site_a, coordinator_a):
    record = make_vitals(study, site_a, coordinator_a)
    client.force_login(coordinator_a)
    response = client.post(
        reverse("vitals-edit", args=[record.pk]),
        {"subject_label": "TJ-S-0001", "weight_kg": "99.0", "note": "", "reason": "r"},
    )
    assert response.status_code == 400
    assert "reload the page" in str(response.context["form"].errors["version"])
    record.refresh_from_db()
    assert record.weight_kg == Decimal("70.0")


def test_a_check_registered_on_a_base_class_runs_for_its_subclasses(
    study, site_a, coordinator_a, heavy_weight_query
):
    assert heavy_weight_query in edit_checks.checks_for(VitalSigns)
    record = make_vitals(study, site_a, coordinator_a, weight_kg=Decimal("250.0"))
    query = DataQuery.objects.get(object_id=str(record.pk))
    assert (query.origin, query.status, query.rule_ref, query.field) == (
        "automatic",
        "open",
        "VS-WT-HIGH",
        "weight_kg",
    )


def test_a_soft_check_saves_and_its_query_closes_itself_when_corrected(
    study, site_a, coordinator_a, heavy_weight_query
):
    record = make_vitals(study, site_a, coordinator_a, weight_kg=Decimal("250.0"))
    assert record.pk and DataQuery.objects.filter(status="open").count() == 1
    # Saving again with the same problem never duplicates the query.
    record = services.update_record(
        record, actor=coordinator_a, values={"note": "n"}, expected_version=1, reason=""
    )
    assert DataQuery.objects.count() == 1
    record = services.update_record(
        record,
        actor=coordinator_a,
        values={"weight_kg": Decimal("72.0")},
        expected_version=record.version,
        reason="Typo: 72 kg on the source",
    )
    query = DataQuery.objects.get()
    assert query.status == "closed"
    assert [m.kind for m in query.messages.all()] == ["opened", "auto_closed"]
    # The problem coming back re-opens the same query.
    services.update_record(
        record,
        actor=coordinator_a,
        values={"weight_kg": Decimal("270.0")},
        expected_version=record.version,
        reason="r",
    )
    query.refresh_from_db()
    assert query.status == "open" and DataQuery.objects.count() == 1
    assert query.messages.last().kind == QueryMessage.Kind.AUTO_REOPENED


def test_a_hard_check_refuses_with_a_field_error_and_saves_nothing(
    study, site_a, coordinator_a, no_note_shouting
):
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        make_vitals(study, site_a, coordinator_a, note="URGENT")
    assert excinfo.value.message_dict == {"note": ["Write the note in sentence case."]}
    assert excinfo.value.error_dict["note"][0].code == "VS-NOTE-CAPS"
    assert not VitalSigns.objects.exists() and AuditEvent.objects.count() == events


def test_the_command_runs_a_new_check_over_existing_data_without_duplicates(
    study, site_a, coordinator_a
):
    heavy = make_vitals(study, site_a, coordinator_a, weight_kg=Decimal("250.0"))
    make_vitals(study, site_a, coordinator_a)
    assert not DataQuery.objects.exists()  # the check did not exist when they were entered
    check = edit_checks.soft("VS-WT-HIGH", "weight_kg", lambda r: r.weight_kg > 200, "Heavy.")
    edit_checks.register(VitalSigns, check)
    try:
        call_command("run_edit_checks", "--model", "testapp.vitalsigns", stdout=None)
        call_command("run_edit_checks", stdout=None)
    finally:
        edit_checks._REGISTERED[VitalSigns].remove(check)
    query = DataQuery.objects.get()
    assert query.object_id == str(heavy.pk) and query.status == "open"


def test_the_manual_query_thread_open_answer_close_reopen(study, site_a, coordinator_a, monitor):
    record = make_vitals(study, site_a, coordinator_a)
    query = queries.raise_query(record, actor=monitor, field="weight_kg", text="Source says 75 kg?")
    assert query.site_id == site_a.pk and query.field_label == "Weight kg"
    query = queries.answer_query(query, actor=coordinator_a, text="Source shows 70 kg.")
    assert query.status == "answered"
    query = queries.close_query(query, actor=monitor)
    assert query.status == "closed" and query.closed_at is not None
    with pytest.raises(ValidationError):
        queries.answer_query(query, actor=coordinator_a, text="late")
    query = queries.reopen_query(query, actor=monitor, text="Please attach the scale print.")
    assert query.status == "open"
    kinds = list(query.messages.values_list("kind", flat=True))
    assert kinds == ["opened", "answered", "closed", "reopened"]
    with pytest.raises(ValidationError) as excinfo:
        queries.raise_query(record, actor=monitor, field="not_a_field", text="?")
    assert "field" in excinfo.value.message_dict


def test_text_with_a_nul_character_is_refused_on_its_field(study, site_a, coordinator_a):
    with pytest.raises(ValidationError) as excinfo:
        make_vitals(study, site_a, coordinator_a, note="scale\x00print")
    assert "cannot be stored" in excinfo.value.message_dict["note"][0]
    assert not VitalSigns.objects.exists()
