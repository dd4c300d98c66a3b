"""Transfusion pages: the subject's transfusion log and the CRF (read-only for readers).

HTTP only (DESIGN.md §3): permission, parse, call ``safety.services.save_transfusion`` or the
selector, render. The CRF follows docs/architecture.md §10 (``SubjectCRFView``).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from enrollment.views import SubjectCRFView, subject_for
from safety.forms_transfusions import TransfusionForm
from safety.models import Transfusion
from safety.selectors_transfusions import transfusions_of
from safety.services import save_transfusion
from trialsite import clock
from trialsite.studies import permissions
from trialsite.studies.roles import Action


def transfusion_list(request, pk: int):
    """Every blood product given to the subject: date, study day, product, units, reason."""
    subject = subject_for(request, pk)
    return render(
        request,
        "safety/transfusions/list.html",
        {
            "subject": subject,
            "rows": transfusions_of(subject),
            "can_enter": permissions.can(
                request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
            ),
        },
    )


class TransfusionView(SubjectCRFView):
    """Add (``record_id`` absent) or correct one transfusion; readers get it read-only."""

    form_class = TransfusionForm
    title = _("Transfusion")

    @property
    def readonly_allowed(self):  # a new transfusion page has nothing to read
        return self.kwargs.get("record_id") is not None

    def get_record(self):
        record_id = self.kwargs.get("record_id")
        if record_id is None:
            return None
        return get_object_or_404(Transfusion, pk=record_id, subject=self.get_subject())

    def get_initial(self):
        return {"transfusion_date": clock.today(), "units": 1}

    def save(self, form, record, *, study, site):
        return save_transfusion(
            self.get_subject(),
            actor=self.request.user,
            values=form.clinical_values(),
            record=record,
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def get_success_url(self, record):
        return reverse("safety:transfusion-list", args=[self.get_subject().pk])
