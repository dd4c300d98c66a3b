"""The subject's safety timeline page and its data as CSV (issue #11 Requirement 6).

HTTP only (DESIGN.md §3): permission, parse ``?to=28|90|all``, call
``safety.selectors_timeline.subject_timeline``, render. Everything on it is by study day, so it
opens for every role that reads the subject's data, the sponsor included (de-identified: no
dates, no initials); staff of another site and the study administrator get 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from enrollment.views import subject_for
from safety.selectors_timeline import CURVES, RANGES, subject_timeline
from trialsite.charts import csv_response
from trialsite.studies import permissions
from trialsite.studies.roles import Action

CSV_NAMES = ("events", *(key for key, *_rest in CURVES))


def _subject(request, pk: int):
    """The subject and whether the user reads identified data (else the sponsor's view).

    ``permissions.access_level`` is the one answer: staff of another site and the study
    administrator (who hold de-identified access to the study, not to its subjects) get 403."""
    subject = subject_for(request, pk, Action.VIEW_DEIDENTIFIED)
    level = permissions.access_level(request.user, subject.study, subject.site_id)
    if level is None:
        raise PermissionDenied
    return subject, level != permissions.DEIDENTIFIED


def _range(request) -> str:
    shown_to = request.GET.get("to", "28")
    return shown_to if shown_to in RANGES else "28"


@require_GET
def timeline(request, pk: int):
    """AEs, daily CRS/ICANS grades, curves and treatments, Day −7 to Day 28 (or 90, or all)."""
    subject, identified = _subject(request, pk)
    shown_to = _range(request)
    data = subject_timeline(subject, shown_to=shown_to)
    context = {"subject": subject, "identified": identified, "timeline": data, "to": shown_to}
    if data is not None:

        def csv_url(name):
            url = reverse("safety:subject-timeline-csv", args=[subject.pk, name])
            return f"{url}?to={shown_to}"

        span_rows = data.span_rows()
        for row in span_rows:
            row["cells"] = [(grade, f"tl-g{grade}" if grade is not None else "") for grade in
                            row["cells"]]  # fmt: skip
        context.update(
            days=data.days,
            span_rows=span_rows,
            crs_cells=[(g, f"tl-g{g}" if g is not None else "") for g in data.grade_row(data.crs)],
            icans_cells=[
                (g, f"tl-g{g}" if g is not None else "") for g in data.grade_row(data.icans)
            ],
            treatment_rows=data.treatment_rows(),
            charts=[data.chart(key, csv_url=csv_url(key)) for key, *_rest in CURVES],
            events_csv_url=csv_url("events"),
            ranges=RANGES,
        )
    return render(request, "safety/timeline/timeline.html", context)


@require_GET
def timeline_csv(request, pk: int, chart: str):
    """The data of one chart (or of the events grid) of the timeline, as CSV."""
    if chart not in CSV_NAMES:
        raise Http404("No such chart.")
    subject, _identified = _subject(request, pk)
    data = subject_timeline(subject, shown_to=_range(request))
    if data is None:
        raise Http404("The subject has no Day 0 yet.")
    rows = data.grid_rows() if chart == "events" else data.chart(chart).rows()
    return csv_response(rows, filename=f"{subject.screening_number}-timeline-{chart}.csv")
