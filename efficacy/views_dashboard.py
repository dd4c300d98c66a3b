"""The efficacy dashboard (issue #13 "What a user does": the investigator's dashboard), its
status JSON and the CSV behind each chart.

HTTP only (DESIGN.md §3): permission, read the stored snapshots
(``efficacy.selectors_endpoints.endpoint_snapshots``, 1 query), lay them out
(``efficacy.dashboard.EfficacyBoard``), render. Nothing is recomputed here. Every role on the
study reads it (``Action.VIEW_DEIDENTIFIED``); a subject's ID is shown only to those who read
its site's clinical data (``Action.VIEW_CLINICAL``, as on the escalation dashboard), everyone
else (sponsors, another site's staff) sees "Subject n", numbered as in the endpoints API; the
rows carry study days, never dates.
"""

from __future__ import annotations

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from efficacy.api_endpoints import deidentified
from efficacy.dashboard import TABLES, EfficacyBoard
from efficacy.models import EndpointSnapshot
from efficacy.selectors_endpoints import endpoint_snapshots
from enrollment.models import Subject
from trialsite.charts import csv_response
from trialsite.navigation import NavItem
from trialsite.records.models import RecomputeRun
from trialsite.studies import permissions
from trialsite.studies.roles import Action

NAV_ITEM = NavItem(
    _("Efficacy"), "efficacy-dashboard:dashboard", Action.VIEW_DEIDENTIFIED, order=460
)


def _study(request):
    study = request.study
    if not study:
        raise Http404("No study.")
    permissions.require(request.user, Action.VIEW_DEIDENTIFIED, study=study)
    return study


def _restore(identified, pseudonymous, shown: set[int]):
    """``pseudonymous`` with the subject rows of ``shown`` subjects taken from ``identified``."""
    if isinstance(identified, dict):
        if identified.get("subject_id") in shown:
            return identified
        return {k: _restore(identified[k], v, shown) for k, v in pseudonymous.items()}
    if isinstance(identified, list):
        return [_restore(a, b, shown) for a, b in zip(identified, pseudonymous, strict=True)]
    return pseudonymous


def relabelled(identified: dict, pseudonymous: dict, shown: set[int]) -> dict:
    """Per (group, endpoint): the subject IDs of the reader's own sites, "Subject n" elsewhere."""
    if not shown:
        return pseudonymous
    return {key: _restore(value, pseudonymous[key], shown) for key, value in identified.items()}


def endpoints_failure(study, snapshot_version: int | None) -> str | None:
    """The error of the newest recompute run if its ``endpoints`` hook failed after the stored
    snapshots (1 query): the page then says so instead of "recomputing…" for ever."""
    run = (
        RecomputeRun.objects.filter(study=study)
        .order_by("-data_version", "-id")
        .values("data_version", "errors")
        .first()
    )
    if run is None or (snapshot_version is not None and run["data_version"] <= snapshot_version):
        return None
    return next((e["error"] for e in run["errors"] if e.get("hook") == "endpoints"), None)


def _board(request, study) -> EfficacyBoard:
    stored = endpoint_snapshots(study)
    groups = stored.groups or ["all"]
    group = request.GET.get("group") or "all"
    if group not in groups:
        group = "all"
    values = stored.values
    allowed = permissions.site_ids(request.user, Action.VIEW_CLINICAL, study=study)
    if allowed is not None:
        shown = set(
            Subject.objects.filter(study=study, site_id__in=allowed).values_list("pk", flat=True)
        )
        values = relabelled(values, deidentified(values), shown)
    return EfficacyBoard(
        group=group,
        groups=groups,
        values={endpoint: v for (g, endpoint), v in values.items() if g == group},
        data_version=stored.data_version,
        computed_at=stored.computed_at,
        study_data_version=study.data_version or 0,
        stale_pairs=[pair for pair in stored.stale if pair[0] == group],
        failure=endpoints_failure(study, stored.data_version),
        failure_detail_shown=allowed is None,
    )


@require_GET
def dashboard(request):
    study = _study(request)
    return render(request, "efficacy/dashboard/dashboard.html", {"board": _board(request, study)})


@require_GET
def status(request):
    """Small JSON for ``static/js/efficacy_dashboard.js``: is a newer save being recomputed?"""
    study = _study(request)
    stored = (
        EndpointSnapshot.objects.filter(study=study)
        .order_by("-data_version")
        .values_list("data_version", flat=True)
        .first()
    )
    data_version = study.data_version or 0
    failed = endpoints_failure(study, stored) is not None
    behind = data_version > 0 if stored is None else stored < data_version
    return JsonResponse(
        {
            "data_version": data_version,
            "snapshot_data_version": stored,
            "stale": behind and not failed,
            "failed": failed,
        }
    )


@require_GET
def table_csv(request, table: str):
    study = _study(request)
    if table not in TABLES:
        raise Http404("No such table.")
    board = _board(request, study)
    return csv_response(board.table(table), filename=f"efficacy-{board.group}-{table}.csv")
