"""Efficacy sample test data: an infused subject with a long follow-up and CSV builders."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from enrollment.services import anchor_schedule
from tests.enrollment_data import register_and_consent

DAY0_AGO = 200

KINETICS_HEADER = (
    "subject,sample_id,collected_at,timepoint,compartment,method,value,unit,blq,lloq\n"
)
ANTI_CAR_HEADER = "subject,sample_id,collected_on,timepoint,result,titre\n"
RCL_HEADER = (
    "subject,sample_id,collected_on,timepoint,method,result,insertion_site,dominant_clone_pct\n"
)

#: Golden §L (CASES.md): transgene copies/µg gDNA by study day, None = BLQ.
GOLDEN_L = [(0, None), (4, 500), (7, 12000), (10, 45000), (14, 30000), (21, 8000), (28, 2000),
            (60, 300), (90, None), (180, None)]  # fmt: skip
_TIMEPOINTS = {4: "D4", 7: "D7", 10: "D10", 14: "D14", 21: "D21", 28: "D28", 60: "M2", 90: "M3",
               180: "M6"}  # fmt: skip


def infused_subject(site, coordinator, investigator, *, day0_ago: int = DAY0_AGO, **subject):
    """Consented ``day0_ago`` + 30 days ago, Day 0 ``day0_ago`` days ago."""
    screening = timezone.localdate() - dt.timedelta(days=day0_ago + 30)
    registered = register_and_consent(
        site,
        coordinator,
        investigator,
        screening_date=screening,
        planned_apheresis_date=screening + dt.timedelta(days=5),
        **subject,
    )
    anchor_schedule(registered, timezone.localdate() - dt.timedelta(days=day0_ago),
                    actor=coordinator)  # fmt: skip
    registered.refresh_from_db()
    return registered


def day(subject, study_day: int) -> dt.date:
    return subject.day0 + dt.timedelta(days=study_day)


def kinetics_line(subject, sample_id, study_day, value, *, unit="copies/ug gDNA", blq="no",
                  timepoint=None, compartment="blood", method="qpcr", lloq="50",
                  key=None) -> str:  # fmt: skip
    when = f"{day(subject, study_day).isoformat()} 08:00"
    timepoint = timepoint or _TIMEPOINTS.get(study_day, "UNS")
    key = key or subject.screening_number
    return (f"{key},{sample_id},{when},{timepoint},{compartment},{method},{value},{unit},{blq},"
            f"{lloq}\n")  # fmt: skip


def golden_kinetics_csv(subject, *, prefix="PK") -> bytes:
    lines = [KINETICS_HEADER]
    for study_day, value in GOLDEN_L:
        sample = f"{prefix}-{subject.pk}-{study_day}"
        if value is None:
            lines.append(kinetics_line(subject, sample, study_day, "", blq="yes",
                                       timepoint="UNS" if study_day == 0 else None))  # fmt: skip
        else:
            lines.append(kinetics_line(subject, sample, study_day, value))
    return "".join(lines).encode()
