"""The safety dashboard's reads, grouped by labels the caller gives (DESIGN.md §2–§3).

The DSMB reads safety per dose level, but safety may not import dosing: the top floor
(``trialsite.dashboards.safety``) passes ``groups`` = {subject id: group label} for the
subjects who were infused (the denominators) and the group labels in column order; every
count here is taken over those subjects. One call costs a fixed number of queries whatever the
number of subjects (docs/architecture.md §12.6): subjects, adverse events, CRS episodes, ICANS
episodes, CRS days, ICANS days, graded blood counts, DLT evaluations, SAE reports and their
clocks — 10.

What each table counts (docs/architecture.md §12.6):

* AEs by SOC and term × maximum grade: adverse events with onset on or after Day 0; per
  subject the worst grade reached (``AdverseEvent.worst_grade``, CTCAE v5.0; ASTCT 2019 for
  CRS and ICANS) of that term, and for a SOC row the worst grade over the SOC's terms. A
  subject counts once per row, under their worst grade.
* CRS and ICANS from the derived episodes (``CRSEpisode`` / ``ICANSEpisode``, the ASTCT roll-up
  of the daily grades): incidence, the subject's maximum grade, time to onset (first episode's
  onset day, Day 0 = infusion) and the duration of every episode (``duration_days``; an
  ongoing episode counts to its last assessed day and is reported as ongoing).
* Tocilizumab, corticosteroids and anakinra: subjects with a dose on a daily CRS or ICANS
  assessment (from Day 0) or the treatment ticked on an AE; doses are the assessment days the
  drug was given (a steroid on both the CRS and the ICANS form of one day is one dose).
* Cytopenias: grade >= 3 "Neutrophil count decreased", "Platelet count decreased" and
  "Anemia" graded by CTCAE v5.0 on lab results collected from Day 0 on; count recovery is the
  status stored on the DLT evaluation (``safety.rules.assess_count_recovery``).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q
from django.utils import timezone

from enrollment.models import Subject
from safety import sae_selectors
from safety.models import (
    AdverseEvent,
    CRSAssessment,
    CRSEpisode,
    DLTEvaluation,
    DLTStatus,
    ICANSAssessment,
    ICANSEpisode,
    LabResult,
    SAEClock,
    SAEReport,
)
from safety.services import sae as sae_services
from trialsite import clock

ALL = "All"
GRADES = (1, 2, 3, 4, 5)
#: CTCAE v5.0 terms the lab catalogue grades for the blood counts (safety/lab_catalogue.py).
CYTOPENIAS = (
    ("ANC", "Neutrophil count decreased"),
    ("PLT", "Platelet count decreased"),
    ("HGB", "Anemia"),
)
TREATMENTS = (
    ("tocilizumab", "Tocilizumab"),
    ("corticosteroids", "Corticosteroids"),
    ("anakinra", "Anakinra"),
)
RECOVERY_STATUSES = ("recovered", "not_recovered", "pending", "not_assessable", "not_applicable")


def percent(n: int, total: int) -> float | None:
    """``n`` of ``total`` in per cent, one decimal (None without a denominator)."""
    return round(100 * n / total, 1) if total else None


@dataclass(frozen=True)
class Count:
    """n of N subjects, with its percentage."""

    n: int
    total: int

    @property
    def pct(self) -> float | None:
        return percent(self.n, self.total)

    def __str__(self) -> str:
        return f"{self.n}/{self.total} ({self.pct:.1f}%)" if self.total else "0/0"


@dataclass(frozen=True)
class Spread:
    """Median and range of whole days (None when there is no value)."""

    values: tuple[int, ...]

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def low(self) -> int | None:
        return min(self.values) if self.values else None

    @property
    def high(self) -> int | None:
        return max(self.values) if self.values else None

    def __str__(self) -> str:
        if not self.values:
            return "—"
        median = self.median
        shown = f"{median:g}"
        return f"{shown} ({self.low}–{self.high})"


@dataclass(frozen=True)
class GradeCell:
    """Subjects by their worst grade (1–5) and with any grade, over ``total`` infused."""

    by_grade: tuple[int, int, int, int, int]
    total: int

    @property
    def any(self) -> int:
        return sum(self.by_grade)

    @property
    def any_count(self) -> Count:
        return Count(self.any, self.total)

    @property
    def grade_3_plus(self) -> Count:
        return Count(sum(self.by_grade[2:]), self.total)

    @property
    def grade_4_plus(self) -> Count:
        return Count(sum(self.by_grade[3:]), self.total)


def _grade_cell(worst: Mapping[int, int], members: Sequence[int], total: int) -> GradeCell:
    counts = [0, 0, 0, 0, 0]
    for subject_id in members:
        grade = worst.get(subject_id)
        if grade:
            counts[min(grade, 5) - 1] += 1
    return GradeCell(tuple(counts), total)


@dataclass(frozen=True)
class AERow:
    """One row of the AE table: a SOC (``term`` empty) or one of its terms."""

    soc: str
    term: str
    cells: dict[str, GradeCell]

    @property
    def is_soc(self) -> bool:
        return not self.term


@dataclass(frozen=True)
class SyndromeColumn:
    """CRS or ICANS in one column (a dose level or All)."""

    incidence: Count
    max_grade: GradeCell
    onset: Spread
    duration: Spread
    episodes: int
    ongoing: int


@dataclass(frozen=True)
class TreatmentCell:
    subjects: Count
    doses: int


@dataclass(frozen=True)
class Swim:
    """One AE span in the swimmer plot: study days from onset to resolution (or today)."""

    subject_id: int
    term: str
    grade: int
    onset_day: int
    end_day: int
    ongoing: bool


@dataclass
class SafetySummary:
    """Everything the safety dashboard shows; ``columns`` are the group labels, then All."""

    columns: list[str]
    denominators: dict[str, int]
    group_of: dict[int, str]
    subjects: dict[int, dict]
    ae_rows: list[AERow]
    crs: dict[str, SyndromeColumn]
    icans: dict[str, SyndromeColumn]
    treatments: list[tuple[str, dict[str, TreatmentCell]]]
    cytopenias: list[tuple[str, dict[str, GradeCell]]]
    recovery: list[tuple[str, dict[str, int]]]
    open_windows: list[dict]
    candidates: list[dict]
    saes: list[dict]
    swims: list[Swim] = field(default_factory=list)
    today: dt.date | None = None


def _members(groups: Mapping[int, str], columns: Sequence[str]) -> dict[str, list[int]]:
    members: dict[str, list[int]] = {column: [] for column in columns}
    for subject_id, label in groups.items():
        members.setdefault(label, []).append(subject_id)
        members[ALL].append(subject_id)
    return members


def _day(on: dt.date | None, day0: dt.date | None) -> int | None:
    return (on - day0).days if on is not None and day0 is not None else None


def _ae_table(events, subjects, members, denominators) -> list[AERow]:
    by_term: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    by_soc: dict[str, dict[int, int]] = defaultdict(dict)
    for event in events:
        day = _day(event["onset_date"], subjects[event["subject_id"]]["day0"])
        if day is None or day < 0:
            continue
        soc, term = event["term__soc"], event["display_term"]
        subject_id, grade = event["subject_id"], event["worst_grade"]
        worst = by_term[(soc, term)]
        worst[subject_id] = max(worst.get(subject_id, 0), grade)
        worst_soc = by_soc[soc]
        worst_soc[subject_id] = max(worst_soc.get(subject_id, 0), grade)

    def cells(worst):
        return {c: _grade_cell(worst, m, denominators[c]) for c, m in members.items()}

    rows = []
    for soc in sorted(by_soc):
        rows.append(AERow(soc, "", cells(by_soc[soc])))
        for key in sorted(k for k in by_term if k[0] == soc):
            rows.append(AERow(soc, key[1], cells(by_term[key])))
    return rows


def _syndrome(episodes, subjects, members, denominators) -> dict[str, SyndromeColumn]:
    worst: dict[int, int] = {}
    first_onset: dict[int, int] = {}
    durations: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for episode in episodes:
        subject_id = episode["subject_id"]
        day = _day(episode["onset_date"], subjects[subject_id]["day0"])
        if day is None or day < 0:
            continue
        worst[subject_id] = max(worst.get(subject_id, 0), episode["max_grade"])
        first_onset[subject_id] = min(first_onset.get(subject_id, day), day)
        durations[subject_id].append((episode["duration_days"], episode["resolution_date"] is None))
    found = {}
    for column, ids in members.items():
        with_episode = [s for s in ids if s in worst]
        spans = [span for s in with_episode for span in durations[s]]
        found[column] = SyndromeColumn(
            incidence=Count(len(with_episode), denominators[column]),
            max_grade=_grade_cell(worst, ids, denominators[column]),
            onset=Spread(tuple(sorted(first_onset[s] for s in with_episode))),
            duration=Spread(tuple(sorted(days for days, _ in spans))),
            episodes=len(spans),
            ongoing=sum(1 for _, ongoing in spans if ongoing),
        )
    return found


def _treatments(crs_days, icans_days, events, subjects, members, denominators):
    given: dict[str, dict[int, int]] = {key: defaultdict(int) for key, _ in TREATMENTS}
    seen: set[tuple[str, int, dt.date]] = set()  # a steroid on both forms of one day: one dose
    for row in [*crs_days, *icans_days]:
        day = _day(row["assessment_date"], subjects[row["subject_id"]]["day0"])
        if day is None or day < 0:
            continue
        for key, flag in (
            ("tocilizumab", "tocilizumab_given"),
            ("corticosteroids", "corticosteroid_given"),
        ):
            mark = (key, row["subject_id"], row["assessment_date"])
            if row.get(flag) and mark not in seen:
                seen.add(mark)
                given[key][row["subject_id"]] += 1
    for event in events:
        day = _day(event["onset_date"], subjects[event["subject_id"]]["day0"])
        if day is None or day < 0:
            continue
        for key in event["treatments"] or []:
            if key in given:
                given[key].setdefault(event["subject_id"], 0)
    rows = []
    for key, label in TREATMENTS:
        doses = given[key]
        rows.append(
            (
                label,
                {
                    column: TreatmentCell(
                        Count(sum(1 for s in ids if s in doses), denominators[column]),
                        sum(doses.get(s, 0) for s in ids),
                    )
                    for column, ids in members.items()
                },
            )
        )
    return rows


def _cytopenias(results, subjects, members, denominators):
    worst: dict[str, dict[int, int]] = {code: {} for code, _ in CYTOPENIAS}
    for subject_id, code, collected_at, grade in results:
        day = _day(timezone.localtime(collected_at).date(), subjects[subject_id]["day0"])
        if day is None or day < 0 or grade is None:
            continue
        worst[code][subject_id] = max(worst[code].get(subject_id, 0), grade)
    return [
        (
            term,
            {c: _grade_cell(worst[code], m, denominators[c]) for c, m in members.items()},
        )
        for code, term in CYTOPENIAS
    ]


def _recovery(evaluations, members):
    status_of = {e["subject_id"]: e["count_recovery"] or "not_applicable" for e in evaluations}
    return [
        (
            status,
            {c: sum(1 for s in m if status_of.get(s) == status) for c, m in members.items()},
        )
        for status in RECOVERY_STATUSES
    ]


def _windows_and_candidates(evaluations, groups, today):
    windows, candidates = [], []
    for e in evaluations:
        subject_id = e["subject_id"]
        if e["dlt_status"] == DLTStatus.OPEN:
            closes = e["window_start"] + dt.timedelta(days=e["closes_on_day"])
            windows.append(
                {
                    "subject_id": subject_id,
                    "group": groups.get(subject_id, "—"),
                    "today_day": (today - e["window_start"]).days,
                    "closes_on_day": e["closes_on_day"],
                    "days_left": max(0, (closes - today).days),
                    "awaiting": e["awaiting_adjudication"],
                }
            )
        for row in e["candidates"] or []:
            if row.get("adjudication_id") is None and row.get("is_candidate") is not False:
                candidates.append(
                    {
                        "subject_id": subject_id,
                        "group": groups.get(subject_id, "—"),
                        "event_id": row.get("event_id"),
                        "term": row.get("term", ""),
                        "grade": row.get("grade"),
                        "day": row.get("onset_day"),
                    }
                )
    windows.sort(key=lambda w: (w["days_left"], w["subject_id"]))
    return windows, candidates


def _saes(study, groups, now):
    settings = sae_services.reporting_settings(study)
    reports = (
        SAEReport.objects.filter(study=study)
        .select_related("subject", "event__term")
        .prefetch_related(Prefetch("clocks", queryset=SAEClock.objects.order_by("due_at", "pk")))
        .order_by("-aware_at", "-pk")
    )
    rows = []
    for report in reports:
        subject = report.subject
        states = sae_selectors.clock_states(report, now=now, due_soon_hours=settings.due_soon_hours)
        rows.append(
            {
                "report_id": report.pk,
                "subject_id": subject.pk,
                "site_id": subject.site_id,
                "number": subject.subject_number or subject.screening_number,
                "group": groups.get(subject.pk, "—"),
                "term": report.event.display_term,
                "grade": report.event.worst_grade,
                "onset_day": _day(report.event.onset_date, subject.day0),
                "clocks": states,
                "overdue": any(s.status == "overdue" for s in states),
            }
        )
    return rows


def _swims(events, subjects, today) -> list[Swim]:
    swims = []
    for event in events:
        day0 = subjects[event["subject_id"]]["day0"]
        onset = _day(event["onset_date"], day0)
        if onset is None or onset < -7:
            continue
        ongoing = event["resolution_date"] is None
        end = _day(event["resolution_date"] or today, day0)
        swims.append(
            Swim(
                event["subject_id"],
                event["display_term"],
                event["worst_grade"],
                onset,
                max(end, onset),
                ongoing,
            )
        )
    return swims


def safety_summary(
    study,
    groups: Mapping[int, str],
    group_order: Sequence[str],
    *,
    today: dt.date | None = None,
) -> SafetySummary:
    """The safety dashboard of ``study`` over the subjects in ``groups`` (10 queries).

    ``groups``: {subject id: group label} of the infused subjects (the denominators);
    ``group_order``: the labels in column order (a label without subjects gets a 0/0 column).
    The SAE list covers every SAE of the study (an SAE before the infusion still has clocks);
    its subjects outside ``groups`` show "—" as group.
    """
    today = today or clock.today()
    columns = [*group_order, ALL]
    members = _members(groups, columns)
    columns = [c for c in members if c != ALL] + [ALL]
    ids = list(groups)
    subjects = {
        row["id"]: {**row, "number": row["subject_number"] or row["screening_number"]}
        for row in Subject.objects.filter(study=study, pk__in=ids).values(
            "id", "site_id", "subject_number", "screening_number", "day0"
        )
    }
    members = {c: [s for s in m if s in subjects] for c, m in members.items()}
    denominators = {c: len(members[c]) for c in columns}
    ids = list(subjects)
    events = list(
        AdverseEvent.objects.filter(study=study, subject_id__in=ids)
        .order_by("subject_id", "onset_date", "pk")
        .values(
            "subject_id",
            "term__soc",
            "term__term",
            "term__other_specify",
            "verbatim_term",
            "worst_grade",
            "onset_date",
            "resolution_date",
            "treatments",
        )
    )
    for event in events:
        specify = event["term__other_specify"] and event["verbatim_term"]
        event["display_term"] = (
            f"{event['term__term']}: {event['verbatim_term']}" if specify else event["term__term"]
        )
    crs_episodes = list(
        CRSEpisode.objects.filter(subject_id__in=ids).values(
            "subject_id", "onset_date", "max_grade", "duration_days", "resolution_date"
        )
    )
    icans_episodes = list(
        ICANSEpisode.objects.filter(subject_id__in=ids).values(
            "subject_id", "onset_date", "max_grade", "duration_days", "resolution_date"
        )
    )
    crs_days = list(
        CRSAssessment.objects.filter(subject_id__in=ids)
        .filter(Q(tocilizumab_given=True) | Q(corticosteroid_given=True))
        .values("subject_id", "assessment_date", "tocilizumab_given", "corticosteroid_given")
    )
    icans_days = list(
        ICANSAssessment.objects.filter(subject_id__in=ids, corticosteroid_given=True).values(
            "subject_id", "assessment_date", "corticosteroid_given"
        )
    )
    results = list(
        LabResult.objects.filter(
            subject_id__in=ids, test_code__in=[c for c, _ in CYTOPENIAS], grade__gte=3
        ).values_list("subject_id", "test_code", "panel__collected_at", "grade")
    )
    evaluations = list(
        DLTEvaluation.objects.filter(study=study, subject_id__in=ids)
        .order_by("window_start", "subject_id")
        .values(
            "subject_id",
            "dlt_status",
            "window_start",
            "closes_on_day",
            "count_recovery",
            "awaiting_adjudication",
            "candidates",
        )
    )
    windows, candidates = _windows_and_candidates(evaluations, groups, today)
    return SafetySummary(
        columns=columns,
        denominators=denominators,
        group_of=dict(groups),
        subjects=subjects,
        ae_rows=_ae_table(events, subjects, members, denominators),
        crs=_syndrome(crs_episodes, subjects, members, denominators),
        icans=_syndrome(icans_episodes, subjects, members, denominators),
        treatments=_treatments(crs_days, icans_days, events, subjects, members, denominators),
        cytopenias=_cytopenias(results, subjects, members, denominators),
        recovery=_recovery(evaluations, members),
        open_windows=windows,
        candidates=candidates,
        saes=_saes(study, groups, clock.now()),
        swims=_swims(events, subjects, today),
        today=today,
    )
