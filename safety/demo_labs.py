"""Demo lab data (``manage.py seed_demo``): cytopenias after Day 0 with recovery, and ferritin,
CRP and IL-6 peaking on the CRS days, for demo subjects who have a Day 0.

Until the dosing demo records infusions, this seeder anchors Day 0 itself for the first three
confirmed-eligible demo subjects (24, 17 and 10 days ago) through
``enrollment.services.anchor_schedule``, as the infusion CRF would. Everything goes through the
lab service, so the grades, proposals and audit trail are real. Idempotent.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from enrollment.models import Subject, SubjectStatus
from enrollment.services import anchor_schedule
from safety.models import LabAEProposal, LabPanel, ProposalStatus
from safety.services import confirm_lab_proposal, dismiss_lab_proposal, save_lab_panel

DAY0_AGO = (24, 17, 10)
# Study day -> values: ANC, platelets, Hgb, WBC, ALC, ALT, creatinine, ferritin, CRP, IL-6.
COURSE = {
    -7: ("3.1", "182", "11.8", "5.2", "1.4", "28", "0.8", "620", "6", "4"),
    1: ("1.9", "121", "10.9", "2.6", "0.3", "31", "0.9", "1400", "58", "160"),
    2: ("1.2", "96", "10.4", "1.8", "0.2", "35", "1.0", "3900", "142", "820"),
    3: ("0.8", "70", "9.6", "1.3", "0.2", "44", "1.1", "5200", "168", "410"),
    5: ("0.3", "38", "8.7", "0.6", "0.1", "52", "1.0", "3800", "96", "90"),
    7: ("0.1", "21", "8.2", "0.4", "0.1", "40", "0.9", "2100", "41", "24"),
    10: ("0.4", "19", "8.4", "0.9", "0.2", "33", "0.9", "1300", "18", "11"),
    14: ("0.9", "34", "9.0", "1.9", "0.4", "30", "0.8", "900", "9", "6"),
    21: ("1.6", "68", "9.8", "3.0", "0.7", "26", "0.8", "700", "5", "4"),
}
TESTS = ("ANC", "PLT", "HGB", "WBC", "ALC", "ALT", "CREAT", "FERRITIN", "CRP", "IL6")


def _infused(site, actor) -> list[Subject]:
    infused = list(Subject.objects.filter(site=site, day0__isnull=False).order_by("pk"))
    if infused:
        return infused
    eligible = Subject.objects.filter(site=site, enrollment_status=SubjectStatus.ELIGIBLE)
    today = timezone.localdate()
    for subject, ago in zip(eligible.order_by("pk")[: len(DAY0_AGO)], DAY0_AGO, strict=False):
        anchor_schedule(
            subject, today - dt.timedelta(days=ago), actor=actor, reason="demo: CAR-T infusion"
        )
        infused.append(Subject.objects.get(pk=subject.pk))
    return infused


def seed(*, study, site, users, stdout) -> None:
    coordinator = users["coordinator"]
    if LabPanel.objects.filter(study=study).exists():
        return
    today = timezone.localdate()
    count = 0
    for number, subject in enumerate(_infused(site, coordinator)):
        for day, values in COURSE.items():
            when = subject.day0 + dt.timedelta(days=day)
            if when > today:
                break
            collected = timezone.make_aware(dt.datetime.combine(when, dt.time(6, 30)))
            save_lab_panel(
                subject,
                actor=coordinator,
                values={
                    "collected_at": collected,
                    "accession_number": f"DEMO-{subject.pk}-{day + 10:02d}",
                    "lab_name": "Hospital central laboratory",
                },
                results=[
                    {"test_code": code, "value": value}
                    for code, value in zip(TESTS, values, strict=True)
                ],
            )
            count += 1
        pending = LabAEProposal.objects.filter(
            subject=subject, decision=ProposalStatus.PENDING
        ).order_by("pk")
        if number == 0:
            first = pending.filter(ctcae_term="Neutrophil count decreased").first()
            if first is not None:
                confirm_lab_proposal(first, actor=coordinator, expected_version=first.version)
            lymph = pending.filter(ctcae_term="Lymphocyte count decreased").first()
            if lymph is not None:
                dismiss_lab_proposal(
                    lymph,
                    actor=coordinator,
                    expected_version=lymph.version,
                    reason="Expected lymphodepletion effect; recorded with the cytopenia AE",
                )
    stdout.write(f"Demo labs: {count} collections")
