"""The safety dashboard's data per dose level: the table a DSMB reads (issue 11, Requirement 5).

It lives on the top floor because it joins safety to dosing, which safety may not import
(DESIGN §2): ``dosing.selectors.subject_dose_levels`` gives each infused subject's dose level
(1 query) and ``safety.selectors_dashboard.safety_summary`` counts over those groups (10
queries). Here the numbers are laid out in column order for the template, the CSV rows are
written and the charts are built; nothing is recounted (docs/architecture.md §12.6).

Who sees what follows the escalation dashboard (docs/roles.md): every role on the study reads
the counts; a subject's ID appears only to readers of the subject's site (``VIEW_CLINICAL``),
everyone else reads "Subject n"; a link to a subject's page appears only where it opens.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dosing import selectors as dosing_selectors
from safety import selectors_dashboard as safety_dashboard
from trialsite.charts import GRADE_COLOURS, Chart, Series
from trialsite.studies import permissions
from trialsite.studies.roles import Action

RECOVERY_LABELS = {
    "recovered": _("Recovered"),
    "not_recovered": _("Not recovered (haematologic DLT candidate)"),
    "pending": _("Pending (recovery day not reached)"),
    "not_assessable": _("Not assessable (no usable count)"),
    "not_applicable": _("Not applicable"),
}


def level_label(level: int) -> str:
    """``DL1``…``DLn``, level 0 ``DL-1``: the column name when a level has no label."""
    return "DL-1" if level == 0 else f"DL{level}"


@dataclass(frozen=True)
class SpanChart:
    """A swimmer plot: one row per subject, one floating bar per AE from onset to its end.

    Same interface as ``trialsite.charts.Chart`` for ``templates/charts/_chart.html``; Chart.js
    draws ``[start, end]`` pairs as floating horizontal bars (``indexAxis: "y"``). A bar covers
    the resolution day (``end + 1``) so that a one-day event is visible.
    """

    chart_id: str
    title: str
    rows: tuple[str, ...]
    spans: tuple[tuple[str, int, int, int, str], ...]  # (row, start, end, grade, term)
    csv_url: str = ""

    @property
    def spec_id(self) -> str:
        return f"{self.chart_id}-spec"

    @property
    def spec(self) -> dict:
        datasets = []
        for grade in range(1, 6):
            data = [
                {"x": [start, end + 1], "y": row}
                for row, start, end, g, _term in self.spans
                if g == grade
            ]
            datasets.append(
                {
                    "label": str(_("Grade %(g)s") % {"g": grade}),
                    "data": data,
                    "backgroundColor": GRADE_COLOURS[grade],
                    "borderColor": GRADE_COLOURS[grade],
                    "grouped": False,
                    "barPercentage": 0.6,
                }
            )
        return {
            "type": "bar",
            "data": {"labels": list(self.rows), "datasets": datasets},
            "options": {
                "indexAxis": "y",
                "scales": {
                    "x": {
                        "type": "linear",
                        "title": {"display": True, "text": str(_("Study day (Day 0 = infusion)"))},
                    },
                    "y": {"title": {"display": True, "text": str(_("Subject"))}},
                },
            },
        }


@dataclass
class SafetyBoard:
    """The page: the summary's numbers in column order, subject labels, links, charts."""

    summary: safety_dashboard.SafetySummary
    levels: list[str]
    columns: list[str]
    denominators: list[int]
    ae_rows: list[dict]
    crs: list[dict]
    icans: list[dict]
    treatments: list[dict]
    cytopenias: list[dict]
    recovery: list[dict]
    open_windows: list[dict]
    candidates: list[dict]
    saes: list[dict]
    swimmer_rows: list[str]
    swims: list[dict]
    can_read_clinical: bool

    @property
    def headers(self) -> list[tuple[str, int]]:
        return list(zip(self.columns, self.denominators, strict=True))

    @property
    def syndromes(self) -> list[dict]:
        """CRS then ICANS: the columns and, per grade 1-5, the subjects with that maximum."""
        return [
            {
                "name": name,
                "columns": columns,
                "grades": [
                    (grade, [c.max_grade.by_grade[grade - 1] for c in columns])
                    for grade in range(1, 6)
                ],
            }
            for name, columns in (("CRS", self.crs), ("ICANS", self.icans))
        ]

    # ----- charts -------------------------------------------------------------------------
    def grade_chart(self) -> Chart:
        """CRS and ICANS maximum grade by dose level: subjects stacked by their worst grade."""
        labels, by_grade = [], {g: [] for g in range(1, 6)}
        for name, columns in (("CRS", self.summary.crs), ("ICANS", self.summary.icans)):
            for level in self.levels:
                labels.append(f"{name} {level}")
                cell = columns[level].max_grade
                for grade in range(1, 6):
                    by_grade[grade].append(cell.by_grade[grade - 1])
        return Chart(
            chart_id="crs-icans-grades",
            title=str(_("CRS and ICANS: subjects by maximum ASTCT grade and dose level")),
            labels=labels,
            series=[
                Series(str(_("Grade %(g)s") % {"g": g}), by_grade[g], GRADE_COLOURS[g])
                for g in range(1, 6)
            ],
            kind="bar",
            stacked=True,
            x_title=str(_("Syndrome and dose level")),
            y_title=str(_("Subjects")),
            csv_url=reverse("dashboards:safety-grades-csv"),
        )

    def swimmer_chart(self) -> SpanChart:
        return SpanChart(
            chart_id="ae-swimmer",
            title=str(_("Adverse events around Day 0 by worst grade (swimmer plot)")),
            rows=tuple(self.swimmer_rows),
            spans=tuple(
                (s["label"], s["onset_day"], s["end_day"], s["grade"], s["term"])
                for s in self.swims
            ),
            csv_url=reverse("dashboards:safety-swimmer-csv"),
        )

    # ----- CSV ----------------------------------------------------------------------------
    def grade_rows(self) -> list[list[object]]:
        return self.grade_chart().rows()

    def swimmer_csv_rows(self) -> list[list[object]]:
        header = ["subject", "dose_level", "term", "worst_grade", "onset_day", "end_day", "ongoing"]
        body = [
            [
                s["label"],
                s["group"],
                s["term"],
                s["grade"],
                s["onset_day"],
                s["end_day"],
                "yes" if s["ongoing"] else "no",
            ]
            for s in self.swims
        ]
        return [header, *body]

    def ae_csv_rows(self) -> list[list[object]]:
        header = ["soc", "term", "column", "infused"]
        header += [f"grade_{g}" for g in range(1, 6)] + ["any_grade", "any_grade_pct"]
        body = []
        for row in self.ae_rows:
            for column, cell in zip(self.columns, row["cells"], strict=True):
                body.append(
                    [row["soc"], row["term"], column, cell.total, *cell.by_grade, cell.any,
                     cell.any_count.pct]
                )  # fmt: skip
        return [header, *body]


def _labeller(user, study, summary, order: list[int]):
    """Subject ID for readers of the subject's site, "Subject n" (infusion order) otherwise."""
    clinical_sites = permissions.site_ids(user, Action.VIEW_CLINICAL, study=study)
    numbers = {subject_id: n for n, subject_id in enumerate(order, 1)}

    def readable(site_id) -> bool:
        return clinical_sites is None or site_id in clinical_sites

    def label(subject_id, site_id, number) -> str:
        if readable(site_id):
            return number
        if subject_id not in numbers:
            numbers[subject_id] = len(numbers) + 1
        return f"Subject {numbers[subject_id]}"

    return readable, label


def build(study, user, *, today=None) -> SafetyBoard:
    """The dashboard for ``user`` (11 queries, plus the user's memberships once per request)."""
    doses = dosing_selectors.subject_dose_levels(study)
    infused = sorted(
        (d for d in doses.values() if d.infused_on is not None),
        key=lambda d: (d.infused_on, d.subject_id),
    )
    labels = {d.level: d.label or level_label(d.level) for d in doses.values()}
    levels = [labels[level] for level in sorted({d.level for d in infused})]
    groups = {d.subject_id: labels[d.level] for d in infused}
    all_groups = {s: labels[d.level] for s, d in doses.items()}
    summary = safety_dashboard.safety_summary(study, groups, levels, today=today)
    readable, label = _labeller(user, study, summary, [d.subject_id for d in infused])
    subjects = summary.subjects

    def subject_label(subject_id) -> str:
        row = subjects[subject_id]
        return label(subject_id, row["site_id"], row["number"])

    def subject_link(subject_id, url_name) -> str:
        if not readable(subjects[subject_id]["site_id"]):
            return ""
        return reverse(url_name, args=[subject_id])

    columns = summary.columns

    def ordered(mapping) -> list:
        return [mapping[c] for c in columns]

    swimmer_rows = [subject_label(d.subject_id) for d in infused if d.subject_id in subjects]
    saes = []
    for row in summary.saes:
        shown = readable(row["site_id"])
        subject_id = row["subject_id"]
        saes.append(
            {
                **row,
                "group": all_groups.get(subject_id, "—"),
                "label": label(subject_id, row["site_id"], row["number"]),
                "url": reverse("safety:sae-report", args=[row["report_id"]]) if shown else "",
            }
        )
    return SafetyBoard(
        summary=summary,
        levels=levels,
        columns=columns,
        denominators=ordered(summary.denominators),
        ae_rows=[
            {"soc": r.soc, "term": r.term, "is_soc": r.is_soc, "cells": ordered(r.cells)}
            for r in summary.ae_rows
        ],
        crs=ordered(summary.crs),
        icans=ordered(summary.icans),
        treatments=[{"label": name, "cells": ordered(c)} for name, c in summary.treatments],
        cytopenias=[{"term": term, "cells": ordered(c)} for term, c in summary.cytopenias],
        recovery=[
            {"status": status, "label": RECOVERY_LABELS[status], "cells": ordered(c)}
            for status, c in summary.recovery
        ],
        open_windows=[
            {
                **w,
                "label": subject_label(w["subject_id"]),
                "url": subject_link(w["subject_id"], "safety:dlt-evaluation"),
            }
            for w in summary.open_windows
        ],
        candidates=[
            {
                **c,
                "label": subject_label(c["subject_id"]),
                "url": subject_link(c["subject_id"], "safety:dlt-evaluation"),
            }
            for c in summary.candidates
        ],
        saes=saes,
        swimmer_rows=swimmer_rows,
        swims=[
            {
                "label": subject_label(s.subject_id),
                "group": groups[s.subject_id],
                "term": s.term,
                "grade": s.grade,
                "onset_day": s.onset_day,
                "end_day": s.end_day,
                "ongoing": s.ongoing,
            }
            for s in summary.swims
        ],
        can_read_clinical=permissions.can(user, Action.VIEW_CLINICAL, study=study),
    )
