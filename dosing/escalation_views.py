"""The escalation dashboard, its status endpoint, its chart data and the safety-review packet.

HTTP only (DESIGN.md §3): permission, read ``dosing.escalation_selectors.dashboard``, render;
the decision form calls ``dosing.decisions.record_decision``. Every role on the study reads the
dashboard (``Action.VIEW_DEIDENTIFIED``); subject IDs are shown only to those who read the
subject's site (``VIEW_CLINICAL``), others see "Subject n" (sponsors, the study administrator,
another site's staff). Only investigators (``CONFIRM_ESCALATION``) see and post the decision
form (docs/roles.md).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from dosing import decisions, escalation_selectors, what_if
from dosing.escalation_forms import DecisionForm, WhatIfForm
from trialsite.charts import csv_response
from trialsite.navigation import NavItem
from trialsite.studies import permissions
from trialsite.studies.roles import Action

NAV_ITEM = NavItem(_("Escalation"), "escalation:dashboard", Action.VIEW_DEIDENTIFIED, order=450)


def _study(request):
    study = request.study
    if not study:
        raise Http404("No study.")
    permissions.require(request.user, Action.VIEW_DEIDENTIFIED, study=study)
    return study


def dashboard(request):
    """GET: the dashboard; POST (investigators): record and sign the decision."""
    study = _study(request)
    may_decide = permissions.can(request.user, Action.CONFIRM_ESCALATION, study=study)
    form = None
    status = 200
    if request.method == "POST":
        if not may_decide:
            raise PermissionDenied
        form = DecisionForm(request.POST)
        if form.is_valid():
            try:
                decisions.record_decision(study, actor=request.user, **form.service_values())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return redirect(reverse("escalation:dashboard") + "#decisions")
        status = 400
    board = escalation_selectors.dashboard(study, request.user)
    if may_decide and form is None:
        form = DecisionForm(initial=board.form_initial())
    panel, what_if_form = _what_if(request, study)
    context = {
        "board": board,
        "form": form,
        "may_decide": may_decide,
        "what_if": panel,
        "what_if_form": what_if_form,
    }
    return render(request, "dosing/escalation/dashboard.html", context, status=status)


def _what_if(request, study):
    """The what-if panel (a GET form, ``?what_if=1&outcome-<n>=dlt``): every reader may ask,
    nothing is written (``dosing.what_if``)."""
    inputs = what_if.load(study, request.user)
    bound = request.method == "GET" and "what_if" in request.GET
    form = WhatIfForm(request.GET if bound else None, pending=inputs.pending)
    outcomes = form.outcomes() if bound and form.is_valid() else {}
    try:
        panel = what_if.what_if(study, request.user, outcomes, inputs=inputs)
    except ValidationError as exc:  # a subject that stopped being pending since the page
        form.add_error(None, [m for msgs in exc.message_dict.values() for m in msgs])
        panel = what_if.what_if(study, request.user, {}, inputs=inputs)
    return panel, form


@require_GET
def status(request):
    """Small JSON for ``static/js/escalation.js``: is a newer save still being recomputed?"""
    study = _study(request)
    return JsonResponse(escalation_selectors.status(study))


@require_GET
def chart_csv(request):
    study = _study(request)
    board = escalation_selectors.dashboard(study, request.user)
    return csv_response(board.chart().rows(), filename="escalation-subjects.csv")


@require_GET
def packet(request):
    """The printable safety-review packet (print CSS): the same data, on paper."""
    study = _study(request)
    board = escalation_selectors.dashboard(study, request.user)
    return render(request, "dosing/escalation/packet.html", {"board": board})
