"""The study audit trail page and its CSV export (issue 10 §15; docs/roles.md).

Monitors and data managers read every site's history; coordinators and investigators their
sites' records; the study administrator none (configuration, not clinical data). Clinical
changes and system events (derived results, recomputes) are separate tabs.
"""

from __future__ import annotations

import csv

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment.models import Subject
from trialsite.records import audit_log
from trialsite.records.models import AuditEvent, ClinicalRecord
from trialsite.studies import permissions
from trialsite.studies.models import Membership
from trialsite.studies.roles import Action

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Show"),
        choices=[
            (audit_log.CLINICAL, _("Clinical changes")),
            (audit_log.SYSTEM, _("System events")),
        ],
        required=False,
        widget=forms.HiddenInput,
    )
    subject = forms.TypedChoiceField(label=_("Subject"), coerce=int, required=False)
    form = forms.TypedChoiceField(label=_("Record"), coerce=int, required=False)
    record = forms.CharField(required=False, widget=forms.HiddenInput)
    user = forms.TypedChoiceField(label=_("User"), coerce=int, required=False)
    action = forms.ChoiceField(
        label=_("Action"), choices=[("", _("any"))] + AuditEvent.Action.choices, required=False
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data, *, study, user):
        super().__init__(data)
        subjects = permissions.scope_by_site(
            Subject.objects.filter(study=study), user, Action.VIEW_AUDIT, study=study
        ).order_by("screening_number")
        self.fields["subject"].choices = [("", _("any"))] + [(s.pk, str(s)) for s in subjects]
        types = ContentType.objects.get_for_models(*_clinical_models())
        self.fields["form"].choices = [("", _("any"))] + sorted(
            ((ct.pk, str(model._meta.verbose_name).capitalize()) for model, ct in types.items()),
            key=lambda pair: pair[1],
        )
        people = get_user_model().objects.filter(
            pk__in=Membership.objects.filter(study=study).values("user_id")
        )
        self.fields["user"].choices = [("", _("anyone"))] + [
            (u.pk, u.get_full_name() or u.get_username())
            for u in people.order_by("last_name", "first_name", "username")
        ]

        for bound in self.visible_fields():
            widget = bound.field.widget
            widget.attrs["class"] = (
                "form-select form-select-sm"
                if isinstance(widget, forms.Select)
                else "form-control form-control-sm"
            )

    def clean_record(self):
        raw = self.cleaned_data.get("record") or ""
        if not raw:
            return None
        content_type, _sep, object_id = raw.partition(":")
        if not content_type.isdigit() or not object_id:
            raise forms.ValidationError(_("Not a record."))
        return int(content_type), object_id

    def to_filter(self) -> audit_log.AuditFilter:
        data = self.cleaned_data if self.is_valid() else {}
        record = data.get("record")
        return audit_log.AuditFilter(
            kind=data.get("kind") or audit_log.CLINICAL,
            subject_pk=data.get("subject") or None,
            content_type_id=record[0] if record else (data.get("form") or None),
            object_id=record[1] if record else "",
            actor_id=data.get("user") or None,
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def _clinical_models():
    from django.apps import apps

    return [
        m
        for m in apps.get_models()
        if issubclass(m, ClinicalRecord) and not m._meta.proxy and not m._meta.abstract
    ]


def _setup(request):
    study = request.study
    if not study:
        raise Http404("No study.")
    permissions.require(request.user, Action.VIEW_AUDIT, study=study)
    form = AuditFilterForm(request.GET or None, study=study, user=request.user)
    return study, form


def audit_trail(request):
    study, form = _setup(request)
    wanted = form.to_filter()
    events = audit_log.audit_events(study, request.user, wanted)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    tabs = query.copy()
    tabs.pop("kind", None)
    return render(
        request,
        "audit_trail.html",
        {
            "study": study,
            "form": form,
            "wanted": wanted,
            "page": page,
            "rows": list(audit_log.present(page.object_list)),
            "query": query.urlencode(),
            "tab_query": tabs.urlencode(),
        },
        status=200 if form.is_bound is False or form.is_valid() else 400,
    )


class _Echo:
    def write(self, value):
        return value


CSV_HEADER = [
    "occurred_at",
    "user",
    "username",
    "record",
    "form",
    "record_version",
    "action",
    "field",
    "old",
    "new",
    "reason",
    "event",
]


def _csv_lines(rows):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for row in rows:
        event = row.event
        common = [
            timezone.localtime(event.occurred_at).isoformat(),
            row.who,
            event.actor_username,
            event.object_repr,
            row.form,
            event.record_version,
            event.get_action_display(),
        ]
        kind = audit_log.SYSTEM if row.summary else audit_log.CLINICAL
        for change in row.changes or [audit_log.Change("", "", "")]:
            yield writer.writerow(
                [*common, change.label, change.old, change.new, event.reason, kind]
            )


def audit_export(request):
    """The filtered rows as CSV, streamed (one line per changed field, values in full)."""
    study, form = _setup(request)
    events = audit_log.audit_events(study, request.user, form.to_filter())
    rows = audit_log.present(events.iterator(chunk_size=500), limit=None)
    response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{study.protocol_number}-{stamp}.csv"'
    )
    return response
