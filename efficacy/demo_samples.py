"""Demo efficacy samples (``manage.py seed_demo`` via ``efficacy.demo``): CAR-T kinetics for
every infused demo subject, anti-CAR antibody results, RCL tests and extra cytokines.

Shapes as published for CD19/CLL1 CAR-T (Mueller et al. Clin Cancer Res 2018): transgene levels
rise from Day 4 to a peak between Day 7 and Day 14, fall by one to two logs by Day 28 and become
BLQ months later; flow counts follow the same curve. Only samples whose date has come are made,
so a subject infused a week ago has two. The files go through the CSV import itself
(``efficacy.sample_import``), so the audit trail and the import records are real. The cytokines
beside the lab demo's IL-6 (IFN-γ, IL-2, IL-10, GM-CSF, IL-15) peak on the same CRS days
(Teachey et al. Cancer Discov 2016) and go through the lab service. Idempotent.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from efficacy import sample_import
from efficacy.models import KineticsSample
from enrollment.models import Subject
from safety.models import LabPanel
from safety.services import save_lab_panel

# Study day -> (timepoint, transgene copies/µg gDNA before the subject's scale; None = BLQ).
KINETICS = {
    4: ("D4", 800),
    7: ("D7", 15000),
    10: ("D10", 52000),
    14: ("D14", 36000),
    21: ("D21", 9000),
    28: ("D28", 2500),
    60: ("M2", 400),
    90: ("M3", 60),
    180: ("M6", None),
    270: ("M9", None),
    365: ("M12", None),
}
#: CAR-T cells/µL per 1000 transgene copies/µg gDNA (the demo's flow curve follows qPCR's).
FLOW_PER_1000_COPIES = 1.6
LLOQ = 50
ANTI_CAR = {-3: "BL", 14: "D14", 28: "D28", 56: "W8", 84: "W12", 168: "W24", 252: "W36",
            336: "W48"}  # fmt: skip
RCL = {90: "M3", 180: "M6", 365: "M12", 730: "Y2"}
# Study day -> IFN-γ, IL-2, IL-10, GM-CSF, IL-15 (pg/mL), on the lab demo's CRS days.
CYTOKINES = {
    -7: ("4", "1.2", "3", "1.5", "2.8"),
    2: ("310", "18", "96", "14", "41"),
    3: ("180", "11", "60", "9", "35"),
    7: ("22", "3.1", "12", "2.2", "9.5"),
}
CYTOKINE_TESTS = ("IFNG", "IL2", "IL10", "GMCSF", "IL15")


def _scale(index: int) -> float:
    return (0.6, 1.0, 1.8, 0.35, 1.3, 0.8)[index % 6]


def _kinetics_csv(subjects, today) -> str:
    lines = [",".join(sample_import.KINDS["kinetics"].columns)]
    for index, subject in enumerate(subjects):
        scale = _scale(index)
        for study_day, (timepoint, level) in KINETICS.items():
            when = subject.day0 + dt.timedelta(days=study_day)
            if when >= today:
                break
            base = f"{subject},DEMO-PK-{subject.pk}-{study_day}"
            moment = f"{when.isoformat()} 08:00"
            copies = None if level is None else level * scale
            cells = None if copies is None else copies * FLOW_PER_1000_COPIES / 1000
            qpcr, q_blq = (f"{copies:.0f}", "no") if copies and copies >= LLOQ else ("", "yes")
            flow, f_blq = (f"{cells:.2f}", "no") if cells and cells >= 0.1 else ("", "yes")
            lines.append(
                f"{base}-Q,{moment},{timepoint},blood,qpcr,{qpcr},copies/ug gDNA,{q_blq},{LLOQ}"
            )
            lines.append(f"{base}-F,{moment},{timepoint},blood,flow,{flow},cells/uL,{f_blq},0.1")
            if study_day in (28, 90) and copies and copies * 0.4 >= LLOQ:
                marrow = f"{copies * 0.4:.0f}"
                lines.append(
                    f"{base}-BM,{moment},{timepoint},marrow,qpcr,{marrow},copies/ug gDNA,no,{LLOQ}"
                )
    return "\n".join(lines) + "\n"


def _dated_csv(kind: str, subjects, today, schedule: dict, row) -> str:
    lines = [",".join(sample_import.KINDS[kind].columns)]
    for index, subject in enumerate(subjects):
        for study_day, timepoint in schedule.items():
            when = subject.day0 + dt.timedelta(days=study_day)
            if when >= today:
                break
            lines.append(f"{subject},{row(subject, index, study_day, when, timepoint)}")
    return "\n".join(lines) + "\n"


def _anti_car(subject, index, study_day, when, timepoint) -> str:
    # One subject develops a low-titre anti-CAR response from Week 8.
    positive = index == 1 and study_day >= 56
    result, titre = ("positive", "40") if positive else ("negative", "")
    return f"DEMO-ADA-{subject.pk}-{timepoint},{when.isoformat()},{timepoint},{result},{titre}"


def _rcl(subject, index, study_day, when, timepoint) -> str:
    site = "polyclonal,2.1" if timepoint == "M12" else ","
    method = "coculture" if timepoint == "M12" else "vsvg_qpcr"
    return (
        f"DEMO-RCL-{subject.pk}-{timepoint},{when.isoformat()},{timepoint},{method},negative,{site}"
    )


def _import(kind: str, content: str, *, study, user, stdout) -> None:
    plan = sample_import.preview(
        content.encode(), kind=kind, filename=f"demo-{kind}.csv", study=study, user=user
    )
    if plan.error_count:
        problems = [f"line {r.line}: {r.errors}" for r in plan.rows if r.errors][:5]
        raise ValueError(f"demo {kind} file has errors: {problems or plan.file_errors}")
    if plan.rows:
        record = sample_import.commit(plan, user=user, study=study)
        stdout.write(f"Demo {kind}: {record.created} samples imported")


def _cytokines(subjects, *, user, today) -> None:
    for subject in subjects:
        for study_day, values in CYTOKINES.items():
            when = subject.day0 + dt.timedelta(days=study_day)
            if when >= today:
                break
            save_lab_panel(
                subject,
                actor=user,
                values={
                    "collected_at": timezone.make_aware(dt.datetime.combine(when, dt.time(6, 45))),
                    "accession_number": f"DEMO-CYT-{subject.pk}-{study_day + 10:02d}",
                    "lab_name": "Immunology laboratory (cytokine panel)",
                },
                results=[
                    {"test_code": code, "value": value}
                    for code, value in zip(CYTOKINE_TESTS, values, strict=True)
                ],
            )


def seed(*, study, site, users, stdout) -> None:
    """Samples for every demo subject with a Day 0; nothing when the study has kinetics."""
    if KineticsSample.objects.filter(study=study).exists():
        return
    user = users["coordinator"]
    today = timezone.localdate()
    subjects = list(Subject.objects.filter(site=site, day0__isnull=False).order_by("day0", "pk"))
    if not subjects:
        return
    _import("kinetics", _kinetics_csv(subjects, today), study=study, user=user, stdout=stdout)
    _import("anti_car", _dated_csv("anti_car", subjects, today, ANTI_CAR, _anti_car),
            study=study, user=user, stdout=stdout)  # fmt: skip
    _import("rcl", _dated_csv("rcl", subjects, today, RCL, _rcl), study=study, user=user,
            stdout=stdout)  # fmt: skip
    if not LabPanel.objects.filter(study=study, accession_number__startswith="DEMO-CYT-").exists():
        _cytokines(subjects, user=user, today=today)
