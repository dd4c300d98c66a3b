"""The escalation design page: the configured design and its operating characteristics.

HTTP only (DESIGN.md §3): permission, parse, call ``dosing.design``, render. Every member of
the study reads the page (``Action.VIEW_DEIDENTIFIED``, which every role holds): it shows the
study's design and hypothetical trials, no subject data (docs/roles.md). A small exact
calculation is rendered in the answer to the POST; a simulation (or a large exact enumeration)
becomes a *design run* computed by ``dosing.design_tasks`` and shown on its own page, whose
progress bar ``static/js/design.js`` polls.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dosing import design, design_tasks
from dosing.design_forms import OperatingCharacteristicsForm
from trialsite.charts import csv_response
from trialsite.navigation import NavItem
from trialsite.studies import permissions
from trialsite.studies.roles import Action

#: The menu entry (registered in ``DosingConfig.ready()``): every role on the study.
NAV_ITEM = NavItem(_("Escalation design"), "design:design", Action.VIEW_DEIDENTIFIED, order=500)

CSV_REFUSED = _("The table could not be computed from these values: %(errors)s")


def _study(request):
    study = request.study
    if not study:
        raise Http404("No study.")
    permissions.require(request.user, Action.VIEW_DEIDENTIFIED, study=study)
    return study


def _settings_link(request, study) -> dict:
    """The settings page link, shown only to those it opens for (edit or read)."""
    return {
        "can_edit_settings": permissions.can(request.user, Action.MANAGE_STUDY, study=study),
        "can_view_settings": permissions.can(request.user, Action.VIEW_SETTINGS, study=study),
    }


def design_page(request):
    """GET: the design and the form; POST: its operating characteristics for the typed values."""
    study = _study(request)
    sd = design.study_design(study)
    bound = request.method == "POST" and not sd.oc_refusal
    form = OperatingCharacteristicsForm(sd, request.POST if bound else None)
    table = csv_url = None
    status = 200
    if bound:
        if form.is_valid():
            inputs = form.inputs()
            try:
                if inputs.method == "exact" and sd.exact_on_page:
                    table = design.exact_table(sd, inputs)
                    query = urlencode(form.query_values())
                    csv_url = f"{reverse('design:exact-csv')}?{query}"
                else:
                    job_id = design.create_run(sd, actor=request.user, inputs=inputs)
                    design_tasks.run_design_job.delay(job_id)
                    return redirect("design:run", job_id=job_id)
            except ValueError as exc:  # the engine's own check of the inputs (a second line)
                form.add_error(None, str(exc))
        if form.errors:
            status = 400
    context = {
        "study": study,
        "sd": sd,
        "form": form,
        "table": table,
        "chart": table.chart() if table else None,
        "csv_url": csv_url,
        "min_trials": design.MIN_TRIALS,
        "max_trials": design.MAX_TRIALS,
        **_settings_link(request, study),
    }
    return render(request, "dosing/design/page.html", context, status=status)


def exact_csv(request):
    """The exact table as CSV, recomputed from the values in the link (it is fast)."""
    study = _study(request)
    sd = design.study_design(study)
    form = OperatingCharacteristicsForm(sd, {**request.GET.dict(), "method": "exact"})
    if sd.oc_refusal or not sd.exact_on_page or not form.is_valid():
        errors = sd.oc_refusal or (
            "" if sd.exact_on_page else str(_("this design is computed as a run"))
        )
        if not errors:
            errors = "; ".join(f"{name}: {' '.join(m)}" for name, m in form.errors.items())
        body = str(CSV_REFUSED) % {"errors": errors}
        return HttpResponse(body, status=400, content_type="text/plain; charset=utf-8")
    table = design.exact_table(sd, form.inputs())
    return csv_response(table.csv_rows(), filename=f"operating-characteristics-{study.pk}.csv")


def _run(request, job_id):
    study = _study(request)
    job = design.get_run(job_id, study=study)
    if job is None:
        raise Http404("No such design run.")
    return study, job


def run_page(request, job_id):
    """One design run: its inputs, a progress bar while it runs, the results when done."""
    study, job = _run(request, job_id)
    table = job["table"]
    csv_url = reverse("design:run-csv", args=[job_id]) if table else None
    inputs = job["inputs"]
    levels = [design.DoseLevel(**level) for level in job["levels"]]
    context = {
        "study": study,
        "job": job,
        "inputs": inputs,
        "input_rows": list(zip(levels, inputs["p_dlt"], inputs["p_grade2"], strict=True)),
        "any_atd": any(level.atd for level in levels),
        "progress": design.run_progress(job),
        "progress_url": reverse("design:run-progress", args=[job_id]),
        "table": table,
        "chart": table.chart() if table else None,
        "csv_url": csv_url,
        "current_settings_version": study.settings_version,
    }
    return render(request, "dosing/design/run.html", context)


def run_progress(request, job_id):
    _study_, job = _run(request, job_id)
    return JsonResponse(design.run_progress(job))


def run_csv(request, job_id):
    study, job = _run(request, job_id)
    if job["table"] is None:
        raise Http404("The run has not finished.")
    return csv_response(job["table"].csv_rows(), filename=f"operating-characteristics-{job_id}.csv")
