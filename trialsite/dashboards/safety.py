"""The safety dashboard (issue 11, Requirement 5): the page, its charts' CSVs and the AE table CSV.

HTTP only (DESIGN.md §3): permission, build ``trialsite.dashboards.safety_board``, render.
Every role on the study reads it (``Action.VIEW_DEIDENTIFIED``, like the escalation
dashboard): the page has no form, so it is read-only for everyone; subject IDs and links to
subject pages appear only to readers of the subject's site (docs/roles.md).
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from trialsite.charts import csv_response
from trialsite.dashboards import safety_board
from trialsite.navigation import NavItem
from trialsite.studies import permissions
from trialsite.studies.roles import Action

NAV_ITEM = NavItem(_("Safety dashboard"), "dashboards:safety", Action.VIEW_DEIDENTIFIED, order=460)


def _board(request) -> safety_board.SafetyBoard:
    study = request.study
    if not study:
        raise Http404("No study.")
    permissions.require(request.user, Action.VIEW_DEIDENTIFIED, study=study)
    return safety_board.build(study, request.user)


@require_GET
def dashboard(request):
    """The DSMB tables per dose level, the open DLT windows, candidates, SAEs and two charts."""
    board = _board(request)
    return render(request, "dashboards/safety.html", {"board": board})


@require_GET
def grades_csv(request):
    return csv_response(_board(request).grade_rows(), filename="crs-icans-max-grade.csv")


@require_GET
def swimmer_csv(request):
    return csv_response(_board(request).swimmer_csv_rows(), filename="ae-swimmer.csv")


@require_GET
def ae_table_csv(request):
    return csv_response(_board(request).ae_csv_rows(), filename="ae-by-soc-term-grade.csv")
