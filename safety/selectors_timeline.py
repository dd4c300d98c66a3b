"""The subject's safety timeline: everything that happened to one subject, by study day.

Issue #11 Requirement 6: from Day −7 to Day 28 (and beyond, on request) the subject's adverse
events (onset → resolution, by grade), the daily CRS and ICANS grades (ASTCT 2019), the curves
of maximum temperature (daily CRS CRF), IL-6, ferritin and CRP (lab results) and the treatments
given (tocilizumab, corticosteroids, anakinra and vasopressors from the CRS/ICANS days and the
AE CRF, and transfusions). Study days count from Day 0, the CAR-T infusion
(``enrollment.schedule.study_day``). Nothing here grades anything: the grades shown are the
ones the services stored.

Six queries whatever the number of records (AEs with their term, their grade history, CRS
days, ICANS days, the three lab tests with their collection time, transfusions); the subject is
the one given.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment.models import Subject
from safety import lab_catalogue
from safety.models import (
    AdverseEvent,
    AdverseEventGrade,
    AESource,
    CRSAssessment,
    ICANSAssessment,
    LabResult,
    Transfusion,
)
from safety.models.crs_icans import Vasopressor
from trialsite import clock
from trialsite.charts import Chart, Series

FIRST_DAY = -7
DLT_WINDOW_LAST_DAY = 28
#: The "to" choices of the page: Day 28 (the DLT window), Day 90, or every recorded day.
RANGES = ("28", "90", "all")

#: The curves: (chart id, title, lab test code or None for the CRS maximum temperature, unit).
CURVES = (
    ("temperature", _("Maximum temperature (°C)"), None, "°C"),
    ("il6", _("IL-6 (pg/mL)"), "IL6", "pg/mL"),
    ("ferritin", _("Ferritin (ng/mL)"), "FERRITIN", "ng/mL"),
    ("crp", _("C-reactive protein (mg/L)"), "CRP", "mg/L"),
)
_CURVE_COLOURS = {
    "temperature": "#c0392b",
    "il6": "#2b6cb0",
    "ferritin": "#6b46c1",
    "crp": "#2f855a",
}

#: Treatment rows, in the order shown.
TREATMENTS = (
    ("tocilizumab", _("Tocilizumab")),
    ("corticosteroids", _("Corticosteroids")),
    ("anakinra", _("Anakinra")),
    ("vasopressors", _("Vasopressors")),
    ("transfusions", _("Transfusions")),
)


@dataclass
class Span:
    """One AE on the timeline: its days, worst grade, and whether it runs past the range."""

    event_id: int
    label: str
    worst_grade: int
    onset_day: int
    end_day: int  # resolution day, or today's day while ongoing
    ongoing: bool
    grades: dict[int, int] = field(default_factory=dict)  # study day -> grade from that day

    def grade_on(self, day: int) -> int:
        """The grade in force on ``day``: the last history step on or before it (the first
        step before the history starts)."""
        steps = sorted(self.grades.items())
        grade = steps[0][1] if steps else self.worst_grade
        for from_day, step_grade in steps:
            if from_day > day:
                break
            grade = step_grade
        return grade


@dataclass
class Timeline:
    subject: Subject
    first_day: int
    last_day: int
    shown_to: str
    latest_data_day: int | None
    spans: list[Span]
    crs: dict[int, int | None]
    icans: dict[int, int | None]
    curves: dict[str, dict[int, Decimal]]
    treatments: dict[str, dict[int, list[str]]]

    @property
    def days(self) -> list[int]:
        return list(range(self.first_day, self.last_day + 1))

    @property
    def data_beyond(self) -> bool:
        """Recorded data after the last day shown (the page offers the longer range)."""
        return self.latest_data_day is not None and self.latest_data_day > self.last_day

    def grade_row(self, grades: dict[int, int | None]) -> list[int | None]:
        return [grades.get(day) for day in self.days]

    def span_rows(self) -> list[dict]:
        """The AEs inside the range, each with one cell per day (its grade, or None)."""
        rows = []
        for span in self.spans:
            if span.end_day < self.first_day or span.onset_day > self.last_day:
                continue
            cells = [
                span.grade_on(day) if span.onset_day <= day <= span.end_day else None
                for day in self.days
            ]
            rows.append(
                {
                    "span": span,
                    "cells": cells,
                    "before": span.onset_day < self.first_day,
                    "after": span.end_day > self.last_day or span.ongoing,
                }
            )
        return rows

    def treatment_rows(self) -> list[dict]:
        return [
            {
                "key": key,
                "label": label,
                "cells": [", ".join(self.treatments[key].get(day, [])) for day in self.days],
            }
            for key, label in TREATMENTS
        ]

    def chart(self, key: str, *, csv_url: str = "") -> Chart:
        for chart_id, title, _code, unit in CURVES:
            if chart_id == key:
                values = self.curves[key]
                return Chart(
                    chart_id=f"timeline-{key}",
                    title=str(title),
                    labels=[str(day) for day in self.days],
                    series=[
                        Series(
                            str(title),
                            [_number(values.get(day)) for day in self.days],
                            _CURVE_COLOURS[key],
                        )
                    ],
                    kind="line",
                    x_title=str(_("Study day")),
                    y_title=unit,
                    csv_url=csv_url,
                    extra_options=self._options(key, unit),
                )
        raise KeyError(key)

    @staticmethod
    def _options(key: str, unit: str) -> dict:
        """Lines join across days without a value; temperature is not drawn from zero."""
        y = {"beginAtZero": key != "temperature", "title": {"display": True, "text": unit}}
        if key == "temperature":
            y["suggestedMin"], y["suggestedMax"] = 36, 40
        return {
            "spanGaps": True,
            "plugins": {"legend": {"display": False}},
            "scales": {
                "x": {"title": {"display": True, "text": str(_("Study day"))}},
                "y": y,
            },
        }

    def grid_rows(self) -> list[list[object]]:
        """The events grid as a table (CSV): one row per line of the page, one column per day."""
        rows: list[list[object]] = [[str(_("Row")), *self.days]]
        for row in self.span_rows():
            rows.append([row["span"].label, *row["cells"]])
        rows.append([str(_("CRS grade (ASTCT)")), *self.grade_row(self.crs)])
        rows.append([str(_("ICANS grade (ASTCT)")), *self.grade_row(self.icans)])
        for row in self.treatment_rows():
            rows.append([str(row["label"]), *row["cells"]])
        return rows


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _day(on: dt.date | dt.datetime | None, day0: dt.date) -> int | None:
    if on is None:
        return None
    if isinstance(on, dt.datetime):
        on = timezone.localtime(on).date()
    return (on - day0).days


def _last_day(shown_to: str, latest: int | None) -> int:
    if shown_to == "90":
        return 90
    if shown_to == "all":
        return max(DLT_WINDOW_LAST_DAY, latest or DLT_WINDOW_LAST_DAY)
    return DLT_WINDOW_LAST_DAY


def subject_timeline(subject: Subject, *, shown_to: str = "28") -> Timeline | None:
    """The subject's timeline from Day −7 to Day 28 (``shown_to`` "90": Day 90; "all": to the
    last recorded day); ``None`` while the subject has no Day 0 (six queries otherwise).

    An AE's cell on a day is its grade that day by the grade history (the AE's own grade when
    it has no history); an ongoing AE runs to today. A span starting before Day −7 is shown
    from Day −7, marked as starting earlier."""
    day0 = subject.day0
    if day0 is None:
        return None
    shown_to = shown_to if shown_to in RANGES else "28"
    today = _day(clock.today(), day0)
    seen: list[int] = []
    treatments: dict[str, dict[int, list[str]]] = {key: defaultdict(list) for key, _l in TREATMENTS}

    def treat(key: str, day: int | None, text: str) -> None:
        if day is not None and text not in treatments[key][day]:
            treatments[key][day].append(text)

    spans = []
    events = (
        AdverseEvent.objects.filter(subject=subject)
        .select_related("term")
        .order_by("onset_date", "pk")
    )
    steps: dict[int, dict[int, int]] = defaultdict(dict)
    for event_id, grade, from_date in (
        AdverseEventGrade.objects.filter(event__subject=subject)
        .order_by("from_date", "pk")
        .values_list("event_id", "grade", "from_date")
    ):
        steps[event_id][_day(from_date, day0)] = grade
    for event in events:
        onset = _day(event.onset_date, day0)
        resolved = _day(event.resolution_date, day0)
        end = resolved if resolved is not None and not event.ongoing else max(onset, today)
        spans.append(
            Span(
                event_id=event.pk,
                label=event.display_term,
                worst_grade=event.worst_grade,
                onset_day=onset,
                end_day=end,
                ongoing=event.ongoing,
                grades=steps.get(event.pk) or {onset: event.grade},
            )
        )
        seen.append(end if event.ongoing else onset)  # an ongoing event runs to today
        if event.source in (AESource.CRS_EPISODE, AESource.ICANS_EPISODE):
            continue  # their treatments are on the daily CRS/ICANS rows, with their days
        for given in event.treatments or []:
            if given in ("tocilizumab", "corticosteroids", "anakinra"):
                treat(given, onset, str(_("AE: %(term)s") % {"term": spans[-1].label}))

    crs: dict[int, int | None] = {}
    curves: dict[str, dict[int, Decimal]] = {key: {} for key, *_rest in CURVES}
    vasopressor_labels = dict(Vasopressor.choices)
    for day_record in CRSAssessment.objects.filter(subject=subject).order_by("assessment_date"):
        day = _day(day_record.assessment_date, day0)
        crs[day] = day_record.grade
        seen.append(day)
        if day_record.max_temperature_c is not None:
            curves["temperature"][day] = day_record.max_temperature_c
        if day_record.tocilizumab_given:
            treat("tocilizumab", day, str(_("CRS day")))
        if day_record.corticosteroid_given:
            treat("corticosteroids", day, str(_("CRS day")))
        for drug in day_record.vasopressors or []:
            treat("vasopressors", day, str(vasopressor_labels.get(drug, drug)))

    icans: dict[int, int | None] = {}
    for day_record in ICANSAssessment.objects.filter(subject=subject).order_by("assessment_date"):
        day = _day(day_record.assessment_date, day0)
        icans[day] = day_record.grade
        seen.append(day)
        if day_record.corticosteroid_given:
            treat("corticosteroids", day, str(_("ICANS day")))

    codes = {code: key for key, _t, code, _u in CURVES if code}
    results = (
        LabResult.objects.filter(subject=subject, test_code__in=codes, value__isnull=False)
        .values_list("test_code", "value", "unit", "panel__collected_at")
        .order_by("panel__collected_at", "pk")
    )
    units = {code: unit for _k, _t, code, unit in CURVES if code}
    for code, value, unit, collected_at in results:
        day = _day(collected_at, day0)
        converted = lab_catalogue.TESTS[code].convert(value, unit, units[code])
        if converted is None:
            continue
        seen.append(day)
        key = codes[code]
        # Several collections on one day: the day's highest value (the curve is of peaks).
        curves[key][day] = max(converted, curves[key].get(day, converted))

    products = dict(Transfusion._meta.get_field("product").choices)
    for given in Transfusion.objects.filter(subject=subject).order_by("transfusion_date", "pk"):
        day = _day(given.transfusion_date, day0)
        seen.append(day)
        treat(
            "transfusions",
            day,
            f"{products.get(given.product, given.product)} × {given.units}",
        )

    latest = max(seen) if seen else None
    return Timeline(
        subject=subject,
        first_day=FIRST_DAY,
        last_day=_last_day(shown_to, latest),
        shown_to=shown_to,
        latest_data_day=latest,
        spans=spans,
        crs=crs,
        icans=icans,
        curves=curves,
        treatments={key: dict(days) for key, days in treatments.items()},
    )
