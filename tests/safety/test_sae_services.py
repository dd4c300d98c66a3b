"""The SAE service: a serious AE starts one report and its clocks, corrections keep it, a
submission meets a clock, and an overdue clock notifies once (issue #11 "SAE clocks")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from safety.models import AdverseEvent, ClockKind, SAEClock, SAEReport, SUSARClass
from safety.services import record_submission, save_adverse_event, update_sae_report
from safety.services.sae import notify_overdue_clocks
from tests.enrollment_data import register_and_consent
from tests.safety.sae_data import moment, serious_event, serious_values
from trialsite.records.exceptions import StaleVersion, VersionRequired
from trialsite.records.models import Notification, RecordStatus
from trialsite.studies import services as study_services

pytestmark = pytest.mark.django_db
HOURS_24 = dt.timedelta(hours=24)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return register_and_consent(site_a, coordinator_a, investigator_a)


@pytest.fixture
def aware(subject, frozen_clock):
    """The moment the serious AE is saved: onset day + 1, 14:30."""
    at = moment(subject.screening_date + dt.timedelta(days=4))
    frozen_clock(at)
    return at


def _clocks(report) -> dict[str, SAEClock]:
    return {c.kind: c for c in SAEClock.objects.filter(report=report)}


def _codes(excinfo, field):
    return [e.code for e in excinfo.value.error_dict[field]]


def _change(event, actor, reason="corrected", **values):
    return save_adverse_event(
        event.subject,
        actor=actor,
        values=values,
        record=event,
        expected_version=event.version,
        reason=reason,
    )


def test_a_serious_event_starts_its_report_with_a_24_hour_clock(subject, coordinator_a, aware):
    event = serious_event(subject, coordinator_a)
    report = SAEReport.objects.get(event=event)
    assert report.aware_at == aware
    assert report.still_serious and report.susar == SUSARClass.NOT_SUSAR
    clocks = _clocks(report)
    assert set(clocks) == {ClockKind.INITIAL, ClockKind.FOLLOW_UP}
    assert clocks[ClockKind.INITIAL].due_at == aware + HOURS_24
    assert clocks[ClockKind.FOLLOW_UP].due_at == aware + dt.timedelta(days=15)
    assert clocks[ClockKind.INITIAL].status == RecordStatus.DRAFT


def test_a_non_serious_event_has_no_report(subject, coordinator_a, aware):
    serious_event(subject, coordinator_a, serious=False, seriousness_criteria=[])
    assert not SAEReport.objects.exists()


def test_saving_the_event_again_never_starts_a_second_report(subject, coordinator_a, aware):
    event = serious_event(subject, coordinator_a)
    event = _change(event, coordinator_a, grade=4, grade_date=event.onset_date + dt.timedelta(1))
    _change(event, coordinator_a, seriousness_criteria=["hospitalisation", "medically_important"])
    assert SAEReport.objects.count() == 1
    assert SAEClock.objects.count() == 2


def test_an_event_made_serious_later_starts_its_report_then(
    subject, coordinator_a, aware, frozen_clock
):
    event = serious_event(subject, coordinator_a, serious=False, seriousness_criteria=[])
    later = aware + dt.timedelta(hours=5)
    frozen_clock(later)
    _change(event, coordinator_a, serious=True, seriousness_criteria=["hospitalisation"])
    report = SAEReport.objects.get(event=event)
    assert report.aware_at == later
    assert _clocks(report)[ClockKind.INITIAL].due_at == later + HOURS_24


def test_a_correction_to_not_serious_keeps_the_report_and_stops_its_open_clocks(
    subject, coordinator_a, aware, frozen_clock
):
    event = serious_event(subject, coordinator_a)
    report = SAEReport.objects.get(event=event)
    initial = _clocks(report)[ClockKind.INITIAL]
    frozen_clock(aware + dt.timedelta(hours=3))
    record_submission(
        initial,
        actor=coordinator_a,
        submitted_at=aware + dt.timedelta(hours=3),
        reference="SAE-0001",
        expected_version=initial.version,
    )
    _change(event, coordinator_a, reason="not serious after review", serious=False,
            seriousness_criteria=[])  # fmt: skip
    report.refresh_from_db()
    assert not report.still_serious
    clocks = _clocks(report)
    assert clocks[ClockKind.INITIAL].required  # it was submitted: stays met
    assert clocks[ClockKind.INITIAL].submitted_at is not None
    assert not clocks[ClockKind.FOLLOW_UP].required
    frozen_clock(aware + dt.timedelta(days=20))
    assert notify_overdue_clocks() == []  # nothing overdue on a report no longer serious


def test_serious_again_brings_the_clocks_back_from_the_original_awareness(
    subject, coordinator_a, investigator_a, aware, frozen_clock
):
    event = serious_event(subject, coordinator_a)
    event = _change(event, coordinator_a, serious=False, seriousness_criteria=[])
    frozen_clock(aware + dt.timedelta(hours=2))
    _change(event, coordinator_a, serious=True, seriousness_criteria=["disability"])
    report = SAEReport.objects.get(event=event)
    assert report.still_serious
    follow_up = _clocks(report)[ClockKind.FOLLOW_UP]
    assert follow_up.required and follow_up.due_at == aware + dt.timedelta(days=15)
    assert Notification.objects.filter(
        recipient=investigator_a, message__startswith="Serious again"
    )


def test_a_susar_gets_its_expedited_clock(subject, coordinator_a, aware):
    event = serious_event(
        subject, coordinator_a, expectedness="unexpected", relationship_car_t="probable"
    )
    report = SAEReport.objects.get(event=event)
    assert report.susar == SUSARClass.OTHER
    assert _clocks(report)[ClockKind.SUSAR_OTHER].due_at == aware + dt.timedelta(days=15)


def test_a_fatal_susar_gets_the_7_day_clock(subject, coordinator_a, aware):
    event = serious_event(
        subject,
        coordinator_a,
        expectedness="unexpected",
        relationship_car_t="definite",
        seriousness_criteria=["life_threatening"],
        grade=4,
    )
    clocks = _clocks(SAEReport.objects.get(event=event))
    assert clocks[ClockKind.SUSAR_FATAL].due_at == aware + dt.timedelta(days=7)
    assert ClockKind.SUSAR_OTHER not in clocks


def test_a_susar_assessed_later_runs_from_the_assessment_and_an_upgrade_restarts_at_7_days(
    subject, coordinator_a, investigator_a, aware, frozen_clock
):
    event = serious_event(subject, coordinator_a)
    assessed = aware + dt.timedelta(days=2)
    frozen_clock(assessed)
    event = _change(event, investigator_a, expectedness="unexpected", relationship_car_t="possible")
    report = SAEReport.objects.get(event=event)
    assert _clocks(report)[ClockKind.SUSAR_OTHER].due_at == assessed + dt.timedelta(days=15)
    worse = assessed + dt.timedelta(days=1)
    frozen_clock(worse)
    _change(event, investigator_a, seriousness_criteria=["hospitalisation", "life_threatening"])
    clocks = _clocks(report)
    assert not clocks[ClockKind.SUSAR_OTHER].required
    assert clocks[ClockKind.SUSAR_FATAL].due_at == worse + dt.timedelta(days=7)
    assert clocks[ClockKind.INITIAL].due_at == aware + HOURS_24  # the initial clock stays


def test_a_corrected_awareness_moves_the_clocks_and_needs_a_reason(subject, coordinator_a, aware):
    event = serious_event(subject, coordinator_a)
    report = SAEReport.objects.get(event=event)
    earlier = aware - dt.timedelta(hours=20)
    with pytest.raises(ValidationError) as excinfo:
        update_sae_report(
            report, actor=coordinator_a, values={"aware_at": earlier},
            expected_version=report.version,
        )  # fmt: skip
    assert _codes(excinfo, "reason") == ["reason_required"]
    report = update_sae_report(
        report,
        actor=coordinator_a,
        values={"aware_at": earlier},
        expected_version=report.version,
        reason="the ward called the evening before",
    )
    assert _clocks(report)[ClockKind.INITIAL].due_at == earlier + HOURS_24
    assert _clocks(report)[ClockKind.FOLLOW_UP].due_at == earlier + dt.timedelta(days=15)


def test_awareness_before_onset_or_in_the_future_is_refused(subject, coordinator_a, aware):
    event = serious_event(subject, coordinator_a)
    report = SAEReport.objects.get(event=event)
    before_onset = moment(event.onset_date - dt.timedelta(days=1))
    with pytest.raises(ValidationError) as excinfo:
        update_sae_report(
            report, actor=coordinator_a, values={"aware_at": before_onset},
            expected_version=report.version, reason="typo",
        )  # fmt: skip
    assert _codes(excinfo, "aware_at") == ["SAE-AWARE-BEFORE-ONSET"]
    with pytest.raises(ValidationError) as excinfo:
        update_sae_report(
            report, actor=coordinator_a, values={"aware_at": aware + dt.timedelta(days=3)},
            expected_version=report.version, reason="typo",
        )  # fmt: skip
    assert "PL-DATE" in _codes(excinfo, "aware_at")
    report.refresh_from_db()
    assert report.aware_at == aware and report.version == 1


@pytest.mark.parametrize(
    ("after", "met"),
    [(HOURS_24, True), (HOURS_24 + MINUTE, False)],
    ids=["exactly-24h", "24h-and-1-minute"],
)
def test_a_submission_by_24_hours_meets_the_clock_and_one_minute_later_is_late(
    subject, coordinator_a, aware, frozen_clock, after, met
):
    from safety.sae_selectors import clock_state

    event = serious_event(subject, coordinator_a)
    initial = _clocks(SAEReport.objects.get(event=event))[ClockKind.INITIAL]
    frozen_clock(aware + after)
    saved = record_submission(
        initial,
        actor=coordinator_a,
        submitted_at=aware + after,
        reference="CIOMS-2026-001",
        expected_version=initial.version,
    )
    assert saved.status == RecordStatus.SUBMITTED
    assert clock_state(saved).status == ("met" if met else "met_late")


def test_a_submission_needs_its_reference_and_its_version(subject, coordinator_a, aware):
    event = serious_event(subject, coordinator_a)
    initial = _clocks(SAEReport.objects.get(event=event))[ClockKind.INITIAL]
    with pytest.raises(ValidationError) as excinfo:
        record_submission(
            initial, actor=coordinator_a, submitted_at=aware, reference=" ",
            expected_version=initial.version,
        )  # fmt: skip
    assert _codes(excinfo, "reference") == ["required_if"]
    with pytest.raises(ValidationError) as excinfo:
        record_submission(
            initial, actor=coordinator_a, submitted_at=aware + dt.timedelta(hours=1),
            reference="X-1", expected_version=initial.version,
        )  # fmt: skip
    assert _codes(excinfo, "submitted_at") == ["future"]
    with pytest.raises(ValidationError) as excinfo:
        record_submission(
            initial, actor=coordinator_a, submitted_at=aware - dt.timedelta(hours=1),
            reference="X-1", expected_version=initial.version,
        )  # fmt: skip
    assert _codes(excinfo, "submitted_at") == ["order"]
    with pytest.raises(VersionRequired):
        record_submission(
            initial, actor=coordinator_a, submitted_at=aware, reference="X-1",
            expected_version=None,
        )  # fmt: skip
    with pytest.raises(StaleVersion):
        record_submission(
            initial, actor=coordinator_a, submitted_at=aware, reference="X-1",
            expected_version=initial.version + 1,
        )  # fmt: skip
    initial.refresh_from_db()
    assert initial.submitted_at is None and initial.version == 1


def test_correcting_a_recorded_submission_needs_a_reason(subject, coordinator_a, aware):
    event = serious_event(subject, coordinator_a)
    initial = _clocks(SAEReport.objects.get(event=event))[ClockKind.INITIAL]
    saved = record_submission(
        initial, actor=coordinator_a, submitted_at=aware, reference="X-1",
        expected_version=initial.version,
    )  # fmt: skip
    with pytest.raises(ValidationError) as excinfo:
        record_submission(
            saved, actor=coordinator_a, submitted_at=aware, reference="X-2",
            expected_version=saved.version,
        )  # fmt: skip
    assert _codes(excinfo, "reason") == ["reason_required"]
    fixed = record_submission(
        saved, actor=coordinator_a, submitted_at=aware, reference="X-2",
        expected_version=saved.version, reason="typo in the reference",
    )  # fmt: skip
    assert fixed.reference == "X-2"


def test_the_sae_report_and_its_clocks_are_audited(subject, coordinator_a, aware):
    from trialsite.records.models import AuditEvent

    event = serious_event(subject, coordinator_a)
    report = SAEReport.objects.get(event=event)
    initial = _clocks(report)[ClockKind.INITIAL]
    record_submission(
        initial, actor=coordinator_a, submitted_at=aware, reference="X-1",
        expected_version=initial.version,
    )  # fmt: skip
    from django.contrib.contenttypes.models import ContentType

    def actions(record):
        return list(
            AuditEvent.objects.filter(
                content_type=ContentType.objects.get_for_model(type(record)),
                object_id=str(record.pk),
            )
            .order_by("sequence")
            .values_list("action", flat=True)
        )

    assert actions(initial) == ["create", "update", "status"]
    assert actions(report) == ["create"]


def test_every_ae_field_the_report_reads_is_on_the_event(subject, coordinator_a, aware):
    """The AE service calls the SAE service last: the report sees the saved event."""
    event = serious_event(subject, coordinator_a)
    assert AdverseEvent.objects.get(pk=event.pk).sae_report.event_id == event.pk


def test_study_settings_change_the_clocks(subject, coordinator_a, aware, study, study_admin):
    section = {**study.settings["sae_reporting"], "initial_report_hours": 12}
    section["follow_up_days"] = None
    study_services.update_study_settings(
        study,
        actor=study_admin,
        document={**study.settings, "sae_reporting": section},
        reason="stricter",
        expected_version=study.settings_version,
    )
    subject.study.refresh_from_db()
    event = serious_event(subject, coordinator_a)
    clocks = _clocks(SAEReport.objects.get(event=event))
    assert set(clocks) == {ClockKind.INITIAL}
    assert clocks[ClockKind.INITIAL].due_at == aware + dt.timedelta(hours=12)


def test_invalid_sae_settings_are_refused_by_the_study_settings(study, study_admin):
    document = {**study.settings, "sae_reporting": {"initial_report_hours": 48}}
    with pytest.raises(ValidationError) as excinfo:
        study_services.update_study_settings(
            study,
            actor=study_admin,
            document=document,
            reason="slower",
            expected_version=study.settings_version,
        )
    assert "initial_report_hours" in str(excinfo.value)
    assert serious_values  # the helper module is shared with the page tests
