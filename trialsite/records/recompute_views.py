"""The "Recompute status" page: recent runs and failing hooks, for study administrators."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from trialsite.records.selectors import recompute_status as select_status
from trialsite.studies import permissions
from trialsite.studies.roles import Action


def recompute_status(request):
    study = request.study
    if not study:
        raise Http404("No study.")
    permissions.require(request.user, Action.MANAGE_STUDY, study=study)
    return render(
        request,
        "records/recompute_status.html",
        {"study": study, "status": select_status(study)},
    )
