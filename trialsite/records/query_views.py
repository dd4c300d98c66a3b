"""Pages of data queries and record histories: the list with ageing, a query's thread, raising.

Monitors and data managers (``Action.RAISE_QUERY``) raise, close and re-open; site staff
(``Action.ENTER_DATA``) answer — or correct the data through the CRF, which closes an automatic
query by itself. Everyone who may read a site's records sees its queries.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from trialsite import clock
from trialsite.records import queries, selectors
from trialsite.records.models import DataQuery
from trialsite.studies import permissions
from trialsite.studies.models import Site
from trialsite.studies.roles import Action


class QueryTextForm(forms.Form):
    text = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 2}))


class QueryFilter(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("", _("Open or answered")), *DataQuery.Status.choices, ("all", _("All"))],
    )
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False)
    subject = forms.CharField(required=False, label=_("Subject"))
    form = forms.CharField(required=False, label=_("Form"))

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["site"].empty_label = _("All sites")
        for name, field in self.fields.items():
            css = "form-select" if name in ("site", "status") else "form-control"
            field.widget.attrs["class"] = f"{css} form-select-sm" if css == "form-select" else css


def _study(request):
    if not request.study:
        raise Http404("No study.")
    return request.study


def query_list(request):
    """Queries of the sites the user may read, oldest open first, with their age in days."""
    study = _study(request)
    permissions.require(request.user, Action.VIEW_CLINICAL, study=study)
    sites = permissions.scope_by_site(
        Site.objects.filter(study=study),
        request.user,
        Action.VIEW_CLINICAL,
        study=study,
        site_field="pk",
    )
    filters = QueryFilter(request.GET or None, sites=sites)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    rows = permissions.scope_by_site(
        DataQuery.objects.filter(study=study), request.user, Action.VIEW_CLINICAL, study=study
    )
    status = criteria.get("status") or ""
    if status == "":
        rows = rows.exclude(status=DataQuery.Status.CLOSED)
    elif status != "all":
        rows = rows.filter(status=status)
    if criteria.get("site"):
        rows = rows.filter(site=criteria["site"])
    if criteria.get("subject"):
        rows = rows.filter(subject_label__icontains=criteria["subject"])
    if criteria.get("form"):
        rows = rows.filter(form_label__icontains=criteria["form"])
    page = Paginator(rows.order_by("opened_at", "id"), 50).get_page(request.GET.get("page"))
    now = clock.now()
    items = [(q, (now - q.opened_at).days) for q in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "records/query_list.html",
        {"page": page, "items": items, "filters": filters, "query": query.urlencode()},
    )


def _query_for(request, pk: int, action: str = Action.VIEW_CLINICAL) -> DataQuery:
    study = _study(request)
    query = get_object_or_404(DataQuery, pk=pk, study=study)
    permissions.require(request.user, action, study=study, site=query.site_id)
    return query


def query_detail(request, pk: int):
    query = _query_for(request, pk)
    study = query.study_id
    return render(
        request,
        "records/query_detail.html",
        {
            "q": query,
            "thread": query.messages.select_related("author").order_by("created_at", "id"),
            "can_answer": query.is_open
            and permissions.can(request.user, Action.ENTER_DATA, study=study, site=query.site_id),
            "can_manage": permissions.can(
                request.user, Action.RAISE_QUERY, study=study, site=query.site_id
            ),
            "form": QueryTextForm(),
            "age_days": (clock.now() - query.opened_at).days,
        },
    )


@require_POST
def query_action(request, pk: int, verb: str):
    """answer (site staff), close and reopen (monitors, data managers)."""
    actions = {
        "answer": (Action.ENTER_DATA, queries.answer_query),
        "close": (Action.RAISE_QUERY, queries.close_query),
        "reopen": (Action.RAISE_QUERY, queries.reopen_query),
    }
    if verb not in actions:
        raise Http404
    needed, service = actions[verb]
    query = _query_for(request, pk, needed)
    text = request.POST.get("text", "")
    try:
        service(query, actor=request.user, text=text)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Query updated."))
    return redirect("records:query", query.pk)


def _record_for(content_type_id: int, object_id: str):
    content_type = get_object_or_404(ContentType, pk=content_type_id)
    model = content_type.model_class()
    if model is None or not hasattr(model, "content_values"):
        raise Http404
    return get_object_or_404(model, pk=object_id)


@require_POST
def raise_query(request, content_type_id: int, object_id: str):
    """A monitor's or data manager's query on one field, from the read-only CRF page."""
    record = _record_for(content_type_id, object_id)
    study = _study(request)
    if record.study_id != study.pk:
        raise Http404
    permissions.require(
        request.user, Action.RAISE_QUERY, study=study, site=record.site_id_for_permissions
    )
    try:
        query = queries.raise_query(
            record,
            actor=request.user,
            field=request.POST.get("field", ""),
            text=request.POST.get("text", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        back = request.POST.get("next") or "/"
        return redirect(back if back.startswith("/") else "/")
    messages.success(request, _("Query raised on “%(field)s”.") % {"field": query.field_label})
    return redirect("records:query", query.pk)


def record_history(request, content_type_id: int, object_id: str):
    """One record's audit trail: every change with who, when, old → new and why."""
    record = _record_for(content_type_id, object_id)
    study = _study(request)
    if record.study_id != study.pk:
        raise Http404
    site = record.site_id_for_permissions
    if not (
        permissions.can(request.user, Action.VIEW_CLINICAL, study=study, site=site)
        or permissions.can(request.user, Action.VIEW_AUDIT, study=study, site=site)
    ):
        permissions.require(request.user, Action.VIEW_CLINICAL, study=study, site=site)
        raise PermissionDenied
    labels = {f.name: str(f.verbose_name) for f in type(record)._meta.concrete_fields}
    events = [
        (event, [(labels.get(name, name), pair) for name, pair in event.changes.items()])
        for event in selectors.audit_trail(record)
    ]
    audit_url = ""
    if permissions.can(request.user, Action.VIEW_AUDIT, study=study, site=site):
        kind = "system" if getattr(type(record), "audit_derived", False) else "clinical"
        audit_url = f"{reverse('audit-trail')}?kind={kind}&record={content_type_id}:{object_id}"
    return render(
        request,
        "records/history.html",
        {
            "record": record,
            "events": events,
            "audit_url": audit_url,
            "back": _back_url(record),
        },
    )


def _back_url(record) -> str:
    """The record's own page, if it has one yet (a derived AE's page may live on another
    app's branch): a history page never fails for want of its back link."""
    from django.urls import NoReverseMatch

    try:
        return record.get_absolute_url() if hasattr(record, "get_absolute_url") else ""
    except NoReverseMatch:
        return ""
