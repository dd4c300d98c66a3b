"""Demo adverse events (``manage.py seed_demo``): a few realistic AEs on consented demo subjects.

Entered through ``save_adverse_event`` (so they have an audit trail and grade history): a fever
that worsened from grade 1 to 2, nausea, fatigue that resolved, hypokalemia, and one serious lung
infection needing hospitalisation. The CRS and ICANS AEs come from the daily assessments (their
own demo). Idempotent: nothing is added once the site has an entered AE.
"""

from __future__ import annotations

import datetime as dt

from enrollment.models import Subject, SubjectStatus
from safety.models import AdverseEvent, AESource, CTCAETerm
from safety.services import load_shipped_terms, save_adverse_event
from trialsite import clock

# (term, grade, days after screening, extra values, later grade step (grade, days) or None)
EVENTS = [
    ("Fever", 1, 4, {"relationship_car_t": "unrelated", "relationship_lymphodepletion": "unrelated",
                     "treatments": ["other"], "treatment_other": "paracetamol"}, (2, 5)),
    ("Nausea", 1, 6, {"relationship_car_t": "unrelated", "expectedness": "expected"}, None),
    ("Fatigue", 2, 3, {"ongoing": False, "outcome": "recovered", "relationship_car_t": "unrelated"},
     None),
    ("Hypokalemia", 1, 8, {"relationship_car_t": "unrelated"}, None),
    ("Lung infection", 3, 9, {"serious": True, "seriousness_criteria": ["hospitalisation"],
                              "relationship_car_t": "unlikely", "expectedness": "unexpected",
                              "treatments": ["other"],
                              "treatment_other": "piperacillin-tazobactam"},
     None),
]  # fmt: skip


def seed(*, study, site, users, stdout) -> None:
    load_shipped_terms()  # a no-op when the migration loaded them
    if AdverseEvent.objects.filter(subject__site=site, source=AESource.MANUAL).exists():
        return
    coordinator = users["coordinator"]
    subjects = list(
        Subject.objects.filter(site=site, enrollment_status=SubjectStatus.ELIGIBLE).order_by("pk")
    )
    today = clock.today()
    added = 0
    for subject, (name, grade, days, extra, later) in zip(subjects, EVENTS, strict=False):
        onset = subject.screening_date + dt.timedelta(days=days)
        if onset > today:
            continue
        values = {"term": CTCAETerm.objects.get(term=name), "onset_date": onset, "grade": grade}
        values.update(extra)
        if not values.get("ongoing", True):
            values["resolution_date"] = min(onset + dt.timedelta(days=4), today)
        event = save_adverse_event(subject, actor=coordinator, values=values)
        added += 1
        if later is not None:
            new_grade, after = later
            save_adverse_event(
                subject,
                actor=coordinator,
                values={"grade": new_grade, "grade_date": onset + dt.timedelta(days=after)},
                record=event,
                expected_version=event.version,
                reason="Temperature 39.4 °C on the ward",
            )
    stdout.write(f"Demo adverse events: {added}")
