"""The base CRF view: permission, parse, call the service, render (docs/architecture.md §3).

Subclasses name the form, the template, how to find the record and the study/site it belongs to,
and (optionally) which service to call. Every refusal — a field error from the service, a stale
version, a locked record — is shown on the form with the user's entered values kept.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views import View

from trialsite.records import queries, selectors, services
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
    """Create (no record) or edit (a record) one CRF — or show it read-only.

    Subclasses name the form and say where the record belongs (``get_record``,
    ``get_study_and_site``) and which app service saves it (``save``: the app's
    ``save_<crf>(subject, *, actor, values, record, expected_version, reason)``). A user who may
    read but not write (monitors, data managers, a coordinator on an investigator-only form) gets
    the same page read-only — values, status, version, signature, open queries and a link to the
    record's history — never a 403. ``entry_blocked_reason`` makes the page read-only with a
    banner when the data the CRF needs does not exist yet (e.g. no consent).
    """

    form_class: type[CRFForm]
    template_name = "records/crf_form.html"
    readonly_template_name = "records/crf_readonly.html"
    title = ""
    action = Action.ENTER_DATA
    # A page that only creates (registration, a new consent) has nothing to read: readers get
    # 403 there, and its links are shown only to those who may write.
    readonly_allowed = True

    def get_record(self) -> ClinicalRecord | None:
        return None

    def get_study_and_site(self, record: ClinicalRecord | None):
        """(study, site) the record belongs to; used for the permission check."""
        raise ImproperlyConfigured("CRFEditView subclasses say where the record belongs.")

    def get_initial(self) -> dict:
        return {}

    def get_form_kwargs(self) -> dict:
        """Keyword arguments of the form (e.g. the staff a consent may be obtained by)."""
        return {}

    def entry_blocked_reason(self, record: ClinicalRecord | None) -> str:
        """Why data cannot be entered on this CRF now (shown as a banner), or ''."""
        return ""

    def save(self, form: CRFForm, record: ClinicalRecord | None, *, study, site):
        """Call the app's service; the default is the records core (for platform CRFs)."""
        if record is None:
            return services.create_record(
                form._meta.model,
                actor=self.request.user,
                study=study,
                values=form.clinical_values(),
            )
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
        level = permissions.access_level(self.request.user, study, site, write_action=self.action)
        if level not in (permissions.WRITE, permissions.READ) or (
            level == permissions.READ and record is None and not self.readonly_allowed
        ):
            permissions.require(self.request.user, self.action, study=study, site=site)
        self.study, self.site = study, site
        self.can_write = level == permissions.WRITE
        self.blocked = self.entry_blocked_reason(record) if self.can_write else ""
        return record, study, site

    def _make_form(self, record, data=None):
        kwargs = {"instance": record, **self.get_form_kwargs()}
        if record is not None:
            kwargs["open_queries"] = _open_queries_by_field(record)
        if data is None:
            return self.form_class(initial=self.get_initial(), **kwargs)
        return self.form_class(data, **kwargs)

    def get(self, request, *args, **kwargs):
        record, _study, _site = self._setup()
        if not self.can_write or self.blocked:
            return self.render_readonly(record)
        return self.render(self._make_form(record), record)

    def post(self, request, *args, **kwargs):
        record, study, site = self._setup()
        if not self.can_write:
            raise PermissionDenied
        if self.blocked:
            return self.render_readonly(record, status=409)
        form = self._make_form(record, request.POST)
        if form.is_valid():
            try:
                saved = self.save(form, record, study=study, site=site)
            except ValidationError as exc:
                add_service_error(form, exc)
            except RecordStateError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Saved."))
                return redirect(self.get_success_url(saved))
        return self.render(form, record, status=400)

    def render(self, form, record, status: int = 200):
        context = self.get_context_data(form=form, record=record, readonly=False)
        return render(self.request, self.template_name, context, status=status)

    def render_readonly(self, record, status: int = 200):
        form = self._make_form(record)
        context = self.get_context_data(
            form=form,
            record=record,
            readonly=True,
            blocked=self.blocked,
            rows=readonly_rows(form, record),
            signature=selectors.signature_state(record) if record is not None else None,
            queries=queries.queries_of(record) if record is not None else [],
            can_raise_query=record is not None
            and permissions.can(
                self.request.user, Action.RAISE_QUERY, study=self.study, site=self.site
            ),
            history_url=history_url(record) if record is not None else "",
        )
        return render(self.request, self.readonly_template_name, context, status=status)


def _open_queries_by_field(record) -> dict[str, list]:
    found: dict[str, list] = {}
    for query in queries.queries_of(record):
        if query.is_open:
            found.setdefault(query.field, []).append(query)
    return found


def readonly_rows(form, record) -> list[dict]:
    """Label, shown value and open queries of each question, as the form would show them."""
    open_by_field = _open_queries_by_field(record) if record is not None else {}
    flags = record.flags() if record is not None and hasattr(record, "flags") else {}
    coded = record.coded() if record is not None and hasattr(record, "coded") else {}
    rows = []
    for name in form.readonly_field_names():
        field = form.fields[name]
        value = getattr(record, name, None) if record is not None else None
        display = getattr(record, f"get_{name}_display", None) if record is not None else None
        if name in coded:
            shown = coded[name].shown  # a missing-data code instead of a value
        elif callable(display):
            shown = display()
        elif value is True:
            shown = _("Yes")
        elif value is False:
            shown = _("No")
        elif value in (None, ""):
            shown = "—"
        else:
            shown = value
        rows.append(
            {
                "name": name,
                "label": field.label,
                "value": shown,
                "flag": flags.get(name, ""),
                "queries": open_by_field.get(name, []),
            }
        )
    return rows


def history_url(record) -> str:
    from django.contrib.contenttypes.models import ContentType
    from django.urls import reverse

    content_type = ContentType.objects.get_for_model(type(record))
    return reverse("records:history", args=[content_type.pk, record.pk])


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
            "signature": selectors.signature_state(record),
        }
        return render(self.request, self.template_name, context, status=status)
