"""AE pages: the subject's AE log, the AE form (create/edit, read-only for readers), the CTCAE
term search (JSON for the form's picker) and the terms page (issue #11; docs/architecture.md
§12)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from enrollment.plausibility import first_consent_date
from enrollment.views import SubjectCRFView, subject_for
from safety import derived_ae
from safety import selectors_ae as selectors
from safety.forms_ae import AdverseEventForm
from safety.models import AdverseEvent
from safety.models.adverse_events import NO_CONSENT
from safety.services import save_adverse_event
from trialsite.studies import permissions
from trialsite.studies.roles import Action


def ae_log(request, pk: int):
    """The subject's adverse events: term, onset, grades, seriousness, relationship, outcome."""
    subject = subject_for(request, pk)
    return render(
        request,
        "safety/ae/log.html",
        {
            "subject": subject,
            "rows": selectors.ae_log_rows(subject),
            "can_enter": permissions.can(
                request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
            ),
        },
    )


class AdverseEventView(SubjectCRFView):
    """Add (``ae_id`` absent) or change one adverse event; readers get it read-only."""

    form_class = AdverseEventForm
    title = _("Adverse event")
    template_name = "safety/ae/form.html"
    readonly_template_name = "safety/ae/readonly.html"

    @property
    def readonly_allowed(self):  # a new-event page has nothing to read
        return self.kwargs.get("ae_id") is not None

    def get_record(self):
        ae_id = self.kwargs.get("ae_id")
        if ae_id is None:
            return None
        return get_object_or_404(
            AdverseEvent.objects.select_related("term", "updated_by"),
            pk=ae_id,
            subject=self.get_subject(),
        )

    def entry_blocked_reason(self, record):
        """Withdrawn consent (the base), or no consent yet: AEs are collected from consent."""
        blocked = super().entry_blocked_reason(record)
        if blocked or record is not None:
            return blocked
        if first_consent_date(self.get_subject()) is None:
            return str(NO_CONSENT)
        return ""

    def save(self, form, record, *, study, site):
        return save_adverse_event(
            self.get_subject(),
            actor=self.request.user,
            values=form.clinical_values(),
            record=record,
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def get_success_url(self, record):
        return reverse("safety:ae-log", args=[self.get_subject().pk])

    def get_context_data(self, **context):
        record = context.get("record")
        return {
            **super().get_context_data(**context),
            "grade_history": selectors.grade_history(record) if record is not None else [],
            "derived_source": derived_ae.derived_source(record),
            "term_search_url": reverse("safety:ctcae-term-search"),
        }


def _require_study_member(request):
    study = request.study
    if not study:
        raise Http404("No study.")
    permissions.require(request.user, Action.VIEW_DEIDENTIFIED, study=study)
    return study


def term_search(request):
    """``?q=`` -> the matching CTCAE terms with SOC and grade texts (JSON); ``?id=`` -> one."""
    _require_study_member(request)
    raw_id = request.GET.get("id", "")
    if raw_id:
        if not raw_id.isdigit():
            return JsonResponse({"errors": {"id": [str(_("Not a term id."))]}}, status=400)
        terms = list(selectors.terms_page().filter(pk=int(raw_id)))
    else:
        terms = selectors.search_terms(request.GET.get("q", "")[:100])
    return JsonResponse({"results": [selectors.term_as_json(t) for t in terms]})


def terms_list(request):
    """The term dictionary for data managers: MedDRA codes to verify, and the loads."""
    _require_study_member(request)
    soc = request.GET.get("soc", "")
    verify = {"yes": True, "no": False}.get(request.GET.get("to_verify", ""))
    page = Paginator(selectors.terms_page(soc=soc, to_verify=verify), 50).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "safety/ae/terms.html",
        {
            "page": page,
            "socs": selectors.socs(),
            "soc": soc,
            "to_verify": request.GET.get("to_verify", ""),
            "query": query.urlencode(),
            "loads": selectors.recent_loads(),
        },
    )
