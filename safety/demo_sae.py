"""The demo SAE (``manage.py seed_demo``): febrile neutropenia needing admission, with its clocks.

The AE demo's serious event, when it seeded one; else an eligible demo subject with consent gets
a grade 3 febrile neutropenia, serious for hospitalisation, entered through the AE service
(which starts the SAE report). The site learned
of it six hours before it was entered; the initial report went to the sponsor five hours after
awareness (clock *met*); the follow-up report is still *running*. Idempotent: nothing is added
once the demo submission (``REFERENCE``) is recorded. Synthetic data only.
"""

from __future__ import annotations

import datetime as dt

from enrollment.models import Consent, Subject, SubjectStatus
from enrollment.plausibility import calendar_date
from safety.models import ClockKind, CTCAETerm, DLTCategory, SAEClock, SAEReport
from safety.services import record_submission, save_adverse_event, update_sae_report
from trialsite import clock

# NCI CTCAE v5.0, Blood and lymphatic system disorders (grades 1-2 are "-" for this term).
FEBRILE_NEUTROPENIA = {
    "soc": "Blood and lymphatic system disorders",
    "meddra_code": 10016288,
    "code_to_verify": True,
    "definition": "A disorder characterized by an ANC <1000/mm3 and a single temperature of "
    ">38.3 degrees C (101 degrees F) or a sustained temperature of >=38 degrees C "
    "(100.4 degrees F) for more than one hour.",
    "grade_3": "ANC <1000/mm3 with a single temperature of >38.3 degrees C (101 degrees F) or "
    "a sustained temperature of >=38 degrees C (100.4 degrees F) for more than one hour",
    "grade_4": "Life-threatening consequences; urgent intervention indicated",
    "grade_5": "Death",
    "dlt_category": DLTCategory.HEMATOLOGIC,
}


REFERENCE = "DEMO-SAE-0001"


def seed(*, study, site, users, stdout) -> None:
    """The demo's SAE: the AE demo's serious event when there is one, else febrile neutropenia."""
    if SAEClock.objects.filter(study=study, reference=REFERENCE).exists():
        return
    coordinator, investigator = users["coordinator"], users["investigator"]
    report = (
        SAEReport.objects.filter(study=study, subject__site=site, still_serious=True)
        .select_related("event")
        .order_by("pk")
        .first()
    )
    if report is None:
        subject = (
            Subject.objects.filter(site=site, enrollment_status=SubjectStatus.ELIGIBLE)
            .filter(pk__in=Consent.objects.values("subject_id"))
            .order_by("screening_sequence", "pk")
            .first()
        )
        if subject is None:
            return
        report = _febrile_neutropenia(subject, coordinator).sae_report
    aware = clock.now().replace(second=0, microsecond=0) - dt.timedelta(hours=6)
    if calendar_date(aware) < report.event.onset_date:
        aware = report.aware_at  # the event began today: keep the awareness as saved
    report = update_sae_report(
        report,
        actor=coordinator,
        values={
            "aware_at": aware,
            "narrative": report.narrative
            or f"{report.event.display_term}, grade {report.event.grade}; admitted for "
            "treatment. Cultures pending.",
        },
        expected_version=report.version,
        reason="The ward told the study team at the evening round, before the AE was entered.",
    )
    initial = SAEClock.objects.get(report=report, kind=ClockKind.INITIAL)
    record_submission(
        initial,
        actor=investigator,
        submitted_at=min(aware + dt.timedelta(hours=5), clock.now()),
        reference=REFERENCE,
        expected_version=initial.version,
    )
    stdout.write(f"Demo SAE: {report.subject} {report.event.display_term} (initial report met)")


def _febrile_neutropenia(subject, coordinator):
    term, _created = CTCAETerm.objects.get_or_create(
        term="Febrile neutropenia", defaults=FEBRILE_NEUTROPENIA
    )
    return save_adverse_event(
        subject,
        actor=coordinator,
        values={
            "term": term,
            "onset_date": clock.today() - dt.timedelta(days=1),
            "grade": 3,
            "serious": True,
            "seriousness_criteria": ["hospitalisation"],
            "relationship_car_t": "possible",
            "expectedness": "expected",
            "treatments": ["other"],
            "treatment_other": "Cefepime IV",
        },
    )
