"""DLT pages: the subject's DLT evaluation, the candidates awaiting adjudication across the
study (site-scoped), and the investigator's adjudication form (e-signature).

HTTP only (DESIGN.md §3): permission, parse, call ``safety.services.dlt`` or
``safety.selectors``, render. Readers (coordinators, monitors, data managers) get the pages
read-only; only investigators see the adjudication links and form.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _

from enrollment.views import subject_for
from safety import selectors
from safety.forms_dlt import DLTAdjudicationForm
from safety.models import AdverseEvent, DLTEvaluation, DLTStatus
from safety.services import dlt as services
from trialsite import clock
from trialsite.records import selectors as record_selectors
from trialsite.records.exceptions import RecordStateError
from trialsite.records.views import add_service_error
from trialsite.studies import permissions
from trialsite.studies.roles import Action

STATUS_SENTENCES = {
    DLTStatus.OPEN: _("The DLT window is open: no final DLT evaluation yet."),
    DLTStatus.WITH_DLT: _("Evaluable with DLT."),
    DLTStatus.WITHOUT_DLT: _("Evaluable without DLT: the window completed without a DLT."),
    DLTStatus.NOT_EVALUABLE: _("Not evaluable for DLT: the subject is replaced if the design "
                               "says so."),
}  # fmt: skip


def _study(request):
    if not request.study:
        raise Http404("No study.")
    return request.study


def _candidate_rows(evaluation: DLTEvaluation | None, adjudications) -> list[dict]:
    by_event = {a.event_id: a for a in adjudications}
    rows = []
    for row in evaluation.candidates if evaluation else []:
        adjudication = by_event.get(row["event_id"])
        rows.append(
            {
                **row,
                "adjudication": adjudication,
                "signature": record_selectors.signature_state(adjudication)
                if adjudication
                else None,
                "stale": adjudication is not None and not adjudication.current,
            }
        )
    return rows


def dlt_evaluation(request, pk: int):
    """The subject's DLT evaluation: status in one sentence, window, candidates, verdicts."""
    subject = subject_for(request, pk)
    evaluation = DLTEvaluation.objects.filter(subject=subject).first()
    adjudications = list(selectors.adjudications(subject))
    today = clock.today()
    return render(
        request,
        "safety/dlt/evaluation.html",
        {
            "subject": subject,
            "evaluation": evaluation,
            "sentence": STATUS_SENTENCES.get(evaluation.dlt_status) if evaluation else "",
            "days_left": evaluation.days_left(today) if evaluation else None,
            "today_day": (today - subject.day0).days if subject.day0 else None,
            "candidates": _candidate_rows(evaluation, adjudications),
            "can_adjudicate": permissions.can(
                request.user, Action.ADJUDICATE_DLT, study=subject.study, site=subject.site_id
            ),
            "can_read_settings": permissions.can(
                request.user, Action.VIEW_SETTINGS, study=subject.study
            ),
            "readonly": not permissions.can(
                request.user, Action.ADJUDICATE_DLT, study=subject.study, site=subject.site_id
            ),
        },
    )


def dlt_candidates(request):
    """DLT candidates awaiting adjudication at the sites the user may read."""
    study = _study(request)
    permissions.require(request.user, Action.VIEW_CLINICAL, study=study)
    sites = permissions.site_ids(request.user, Action.VIEW_CLINICAL, study=study)
    adjudicating = permissions.site_ids(request.user, Action.ADJUDICATE_DLT, study=study)
    today = clock.today()
    rows = [
        {
            "evaluation": evaluation,
            "subject": evaluation.subject,
            "row": row,
            "days_left": evaluation.days_left(today),
            "can_adjudicate": adjudicating is None or evaluation.subject.site_id in adjudicating,
        }
        for evaluation, row in selectors.awaiting_adjudication(study, site_ids=sites)
    ]
    return render(
        request,
        "safety/dlt/candidates.html",
        {
            "rows": rows,
            "can_read_settings": permissions.can(request.user, Action.VIEW_SETTINGS, study=study),
            "readonly": not adjudicating and adjudicating is not None,
        },
    )


def adjudicate(request, pk: int, event_id: int):
    """The investigator's verdict on one candidate: DLT yes/no, rationale, password again."""
    subject = subject_for(request, pk, Action.ADJUDICATE_DLT)
    event = get_object_or_404(
        AdverseEvent.objects.select_related("term"), pk=event_id, subject=subject
    )
    evaluation = DLTEvaluation.objects.filter(subject=subject).first()
    row = next(
        (c for c in (evaluation.candidates if evaluation else []) if c["event_id"] == event.pk),
        None,
    )
    data = request.POST if request.method == "POST" else None
    form = DLTAdjudicationForm(data, initial={"version": event.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.adjudicate_dlt(
                event,
                actor=request.user,
                is_dlt=form.cleaned_data["is_dlt"],
                rationale=form.cleaned_data["rationale"],
                password=form.cleaned_data["password"],
                event_version=form.cleaned_data["version"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        except RecordStateError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Adjudication signed."))
            return redirect("safety:dlt-evaluation", subject.pk)
    return render(
        request,
        "safety/dlt/adjudicate.html",
        {
            "subject": subject,
            "event": event,
            "row": row,
            "form": form,
            "meaning": services.ADJUDICATION_MEANING,
            "can_read_settings": permissions.can(
                request.user, Action.VIEW_SETTINGS, study=subject.study
            ),
        },
        status=400 if request.method == "POST" else 200,
    )
