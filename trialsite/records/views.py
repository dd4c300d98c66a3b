"""The base CRF view: permission, parse, call the service, render (DESIGN.md §3).

Subclasses name the form, the template, how to find the record and the study/site it belongs to,
and (optionally) which service to call. Every refusal — a field error from the service, a stale
version, a locked record — is shown on the form with the user's entered values kept.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views import View

from trialsite.records import services
from trialsite.records.exceptions import RecordStateError
from trialsite.records.forms import CRFForm, SignatureForm
from trialsite.records.models import ClinicalRecord
from trialsite.studies import permissions
from trialsite.studies.roles import Action


def add_service_error(form, exc: ValidationError) -> None:
    """Put each message of a service's ValidationError on its form field (or the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class CRFEditView(View):
    """Create (no record) or edit (a record) one CRF.

    Override ``get_record``, ``get_study_and_site`` and, for a workflow, ``create``/``update``.
    """

    form_class: type[CRFForm]
    template_name = "records/crf_form.html"
    title = ""
    action = Action.ENTER_DATA

    def get_record(self) -> ClinicalRecord | None:
        return None

    def get_study_and_site(self, record: ClinicalRecord | None):
        """(study, site) the record belongs to; used for the permission check."""
        raise ImproperlyConfigured("CRFEditView subclasses say where the record belongs.")

    def get_initial(self) -> dict:
        return {}

    def create(self, form: CRFForm, *, study, site) -> ClinicalRecord:
        return services.create_record(
            form._meta.model, actor=self.request.user, study=study, values=form.clinical_values()
        )

    def update(self, form: CRFForm, record: ClinicalRecord) -> ClinicalRecord:
        return services.update_record(
            record,
            actor=self.request.user,
            values=form.clinical_values(),
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def get_success_url(self, record: ClinicalRecord) -> str:
        return self.request.path

    def get_context_data(self, **context) -> dict:
        return {"title": self.title, **context}

    def _setup(self):
        record = self.get_record()
        study, site = self.get_study_and_site(record)
        permissions.require(self.request.user, self.action, study=study, site=site)
        return record, study, site

    def get(self, request, *args, **kwargs):
        record, study, site = self._setup()
        form = self.form_class(instance=record, initial=self.get_initial())
        return self.render(form, record)

    def post(self, request, *args, **kwargs):
        record, study, site = self._setup()
        form = self.form_class(request.POST, instance=record)
        if form.is_valid():
            try:
                if record is None:
                    saved = self.create(form, study=study, site=site)
                else:
                    saved = self.update(form, record)
            except ValidationError as exc:
                add_service_error(form, exc)
            except RecordStateError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Saved."))
                return redirect(self.get_success_url(saved))
        return self.render(form, record, status=400)

    def render(self, form, record, status: int = 200):
        context = self.get_context_data(form=form, record=record)
        return render(self.request, self.template_name, context, status=status)


class SignRecordView(View):
    """Sign one record: show the meaning, ask for the password again, store the signature."""

    template_name = "records/sign.html"
    meaning = ""

    def get_record(self) -> ClinicalRecord:
        raise ImproperlyConfigured("SignRecordView subclasses name the record to sign.")

    def get_study_and_site(self, record: ClinicalRecord):
        raise ImproperlyConfigured("SignRecordView subclasses say where the record belongs.")

    def get_success_url(self, record: ClinicalRecord) -> str:
        return self.request.path

    def sign(self, record: ClinicalRecord, *, password: str, expected_version: int):
        """Sign the record; a workflow (e.g. eligibility confirmation) overrides this."""
        return services.sign_record(
            record,
            actor=self.request.user,
            password=password,
            meaning=str(self.meaning),
            expected_version=expected_version,
        )

    def _setup(self):
        record = self.get_record()
        study, site = self.get_study_and_site(record)
        permissions.require(self.request.user, Action.SIGN, study=study, site=site)
        return record

    def get(self, request, *args, **kwargs):
        record = self._setup()
        form = SignatureForm(meaning=self.meaning, initial={"version": record.version})
        return self.render(form, record)

    def post(self, request, *args, **kwargs):
        record = self._setup()
        form = SignatureForm(request.POST, meaning=self.meaning)
        if form.is_valid():
            try:
                self.sign(
                    record,
                    password=form.cleaned_data["password"],
                    expected_version=form.cleaned_data["version"],
                )
            except ValidationError as exc:
                add_service_error(form, exc)
            except RecordStateError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Signed."))
                return redirect(self.get_success_url(record))
        return self.render(form, record, status=400)

    def render(self, form, record, status: int = 200):
        context = {
            "form": form,
            "record": record,
            "meaning": self.meaning,
            "signature": services.signature_state(record),
        }
        return render(self.request, self.template_name, context, status=status)
