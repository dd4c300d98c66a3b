"""Efficacy sample pages: a subject's CAR-T kinetics (table, curve, summary, CSV), anti-CAR
antibodies, RCL tests, the subject page's section, and the sample CSV import.

HTTP only (DESIGN.md §3): permission, parse, call the import or selector, render. The sample
lists are read-only pages (samples arrive by import): every reader of the subject's CRFs opens
them; the import is for those who enter data (the lab import's action, docs/roles.md).
"""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from efficacy import sample_import, selectors_samples
from efficacy.models import SampleImport
from efficacy.tasks import import_sample_file
from enrollment.views import subject_for
from trialsite.charts import Chart, Series, csv_response
from trialsite.studies import permissions
from trialsite.studies.roles import Action

MAX_UPLOAD_BYTES = 5 * 1024 * 1024

#: Series colours by (method, compartment), colour-blind-safe (Okabe–Ito).
_COLOURS = {
    ("qpcr", "blood"): "#0072B2",
    ("qpcr", "marrow"): "#56B4E9",
    ("flow", "blood"): "#D55E00",
    ("flow", "marrow"): "#E69F00",
}


def _can_import(request, study) -> bool:
    return permissions.can(request.user, Action.ENTER_DATA, study=study)


def _series_label(method: str, compartment: str, unit: str) -> str:
    return f"{method} {compartment} ({unit})"


def kinetics_chart(subject, samples, *, csv_url: str = "") -> Chart | None:
    """The expansion curve: level by study day, one line per method × compartment, log scale.

    BLQ points are left out of the log axis (0 has no logarithm); the table and the CSV show
    them. None when nothing is after Day 0.
    """
    points: dict[tuple[str, str], dict[int, float | None]] = {}
    units: dict[tuple[str, str], str] = {}
    for sample in samples:
        day = sample.study_day
        if day is None or day < 0:
            continue
        key = (sample.method, sample.compartment)
        level = sample.level
        points.setdefault(key, {})[day] = level if level else None
        units[key] = sample.unit
    if not points:
        return None
    days = sorted({d for by_day in points.values() for d in by_day})
    series = [
        Series(
            _series_label(method, compartment, units[(method, compartment)]),
            [by_day.get(d) for d in days],
            _COLOURS.get((method, compartment), "#000000"),
        )
        for (method, compartment), by_day in sorted(points.items())
    ]
    return Chart(
        chart_id="kinetics",
        title=str(_("CAR-T expansion and persistence (log scale)")),
        labels=[str(d) for d in days],
        series=series,
        kind="line",
        x_title=str(_("Study day")),
        y_title=str(_("Level")),
        csv_url=csv_url,
        extra_options={
            "spanGaps": True,
            "scales": {
                "x": {"title": {"display": True, "text": str(_("Study day"))}},
                "y": {"type": "logarithmic", "title": {"display": True, "text": str(_("Level"))}},
            },
        },
    )


def kinetics_page(request, pk: int):
    """The subject's kinetics samples, the curve and Cmax/Tmax/AUC0–28d/persistence."""
    subject = subject_for(request, pk)
    samples = selectors_samples.kinetics_of(subject)
    for sample in samples:
        sample.subject = subject  # the study day reads Day 0 without a query per row
    csv_url = reverse("efficacy:kinetics-csv", args=[subject.pk])
    return render(
        request,
        "efficacy/samples/kinetics.html",
        {
            "subject": subject,
            "samples": samples,
            "summary": selectors_samples.kinetics_summary(subject, samples),
            "chart": kinetics_chart(subject, samples, csv_url=csv_url),
            "csv_url": csv_url,
            "can_import": _can_import(request, subject.study),
        },
    )


def kinetics_csv(request, pk: int):
    """Every kinetics sample of the subject as CSV (the chart's data, BLQ rows included)."""
    subject = subject_for(request, pk)
    samples = selectors_samples.kinetics_of(subject)
    header = ["sample_id", "collected_at", "study_day", "timepoint", "compartment", "method",
              "value", "blq", "lloq", "unit"]  # fmt: skip
    rows = [header]
    for s in samples:
        s.subject = subject
        rows.append(
            [
                s.sample_id,
                s.collected_at.isoformat(),
                s.study_day,
                s.timepoint,
                s.compartment,
                s.method,
                s.value,
                "yes" if s.blq else "no",
                s.lloq,
                s.unit,
            ]  # fmt: skip
        )
    return csv_response(rows, filename=f"kinetics-{subject}.csv")


def anti_car_page(request, pk: int):
    subject = subject_for(request, pk)
    results = selectors_samples.anti_car_of(subject)
    for r in results:
        r.subject = subject
    return render(
        request,
        "efficacy/samples/anti_car.html",
        {"subject": subject, "results": results, "can_import": _can_import(request, subject.study)},
    )


def rcl_page(request, pk: int):
    subject = subject_for(request, pk)
    tests = selectors_samples.rcl_of(subject)
    for t in tests:
        t.subject = subject
    return render(
        request,
        "efficacy/samples/rcl.html",
        {"subject": subject, "tests": tests, "can_import": _can_import(request, subject.study)},
    )


def samples_section(request, subject) -> dict:
    """The subject page's "Efficacy samples" section: the three lists with their counts."""
    from efficacy.models import AntiCARAntibody, KineticsSample, RCLTest

    return {
        "kinetics": KineticsSample.objects.filter(subject=subject).count(),
        "anti_car": AntiCARAntibody.objects.filter(subject=subject).count(),
        "rcl": RCLTest.objects.filter(subject=subject).count(),
    }


# --- The import --------------------------------------------------------------------------------


class SampleImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Sample type"), choices=SampleImport.Kind.choices)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 CSV with a header line; the columns of each type are shown below."),
    )


def _import_study(request):
    study = request.study
    if not study:
        raise Http404("No study.")
    permissions.require(request.user, Action.ENTER_DATA, study=study)
    return study


def sample_import_page(request):
    """Upload -> preview (nothing written) -> confirm (the commit runs as a task)."""
    study = _import_study(request)
    context = {
        "form": SampleImportForm(),
        "examples": [
            (spec.label, sample_import.example_csv(code))
            for code, spec in sample_import.KINDS.items()
        ],  # fmt: skip
        "recent": SampleImport.objects.filter(study=study).select_related("imported_by")[:10],
    }
    status = 200
    if request.method == "POST" and "token" in request.POST:
        token = request.POST["token"]
        job = sample_import.upload(token)
        if job is None or job["user_id"] != request.user.pk or job["study_id"] != study.pk:
            messages.error(request, _("This upload has expired; upload the file again."))
            return redirect("efficacy:sample-import")
        sample_import.set_progress(token, state="queued", done=0, total=0,
                                   user_id=request.user.pk)  # fmt: skip
        import_sample_file.delay(token)
        context.update(token=token, filename=job["filename"], committing=True)
        context["progress"] = sample_import.progress_of(token)
    elif request.method == "POST":
        form = SampleImportForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            upload = form.cleaned_data["file"]
            kind = form.cleaned_data["kind"]
            if upload.size > MAX_UPLOAD_BYTES:
                form.add_error("file", _("The file is larger than 5 MB; split it."))
                status = 400
            else:
                content = upload.read()
                plan = sample_import.preview(
                    content, kind=kind, filename=upload.name, study=study, user=request.user
                )
                context["preview"] = plan
                if not plan.error_count and plan.rows:
                    token = secrets.token_urlsafe(16)
                    sample_import.store_upload(
                        token, kind=kind, content=content, filename=upload.name, study=study,
                        user=request.user,
                    )  # fmt: skip
                    context["token"] = token
        else:
            status = 400
    return render(request, "efficacy/samples/import.html", context, status=status)


def sample_import_status(request, token: str):
    """The progress of a commit, as JSON for static/js/lab_import.js (the same poller)."""
    _import_study(request)
    state = sample_import.progress_of(token)
    if state is None or state.get("user_id") != request.user.pk:
        raise Http404  # another user's import is not revealed
    return JsonResponse({k: v for k, v in state.items() if k != "user_id"})
