"""API of the efficacy CRFs: response assessments, follow-up contacts and disease events.

Same conventions as ``safety.api_crs``: per-subject resources are identified (they carry dates):
GET lists, POST creates through the service, PUT with the ``version`` that was read (428
without it, 409 when stale), bad values 400 with field errors and codes, nothing saved. The
study-level read lists are scoped by site and de-identified for sponsors (the subject ID, study
days and months from Day 0; no dates). Query counts are fixed (tests/efficacy/test_api.py).
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from efficacy import services
from efficacy.forms import DiseaseEventForm, FollowUpForm, ResponseAssessmentForm
from efficacy.models import DiseaseEvent, FollowUp, ResponseAssessment
from enrollment.api import _subject_for
from enrollment.models import Subject
from enrollment.schedule import study_day
from safety.api_crs import input_serializer
from trialsite.studies import permissions
from trialsite.studies.roles import Action

KINDS = {
    "responses": (ResponseAssessment, ResponseAssessmentForm, services.save_response_assessment),
    "follow-up": (FollowUp, FollowUpForm, services.save_follow_up),
    "disease-events": (DiseaseEvent, DiseaseEventForm, services.save_disease_event),
}
_INPUTS = {
    kind: input_serializer(model, form._meta.fields) for kind, (model, form, _s) in KINDS.items()
}
_ORDER = {
    "responses": "assessment_date",
    "follow-up": "contact_date",
    "disease-events": "event_date",
}


def _body(record, subject: Subject) -> dict:
    record.subject = subject
    data = {
        "id": record.pk,
        **record.content_values(),
        "study_day": record.study_day,
        "version": record.version,
        "status": record.status,
    }
    data.pop("subject", None)
    if isinstance(record, ResponseAssessment):
        data["category_of_record"] = record.category_of_record
        data["overridden"] = record.overridden
    return data


def _readable_subject(request, pk: int) -> Subject:
    subject, access = _subject_for(request, pk)
    if access != "identified":
        raise PermissionDenied
    return subject


def _require_entry(request, subject: Subject) -> None:
    if not permissions.can(
        request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
    ):
        raise PermissionDenied


class SubjectRecordListApi(GenericAPIView):
    """GET the subject's records of this CRF (oldest first); POST adds one through the service."""

    kind = "responses"
    queryset = Subject.objects.none()

    def get_serializer_class(self):
        return _INPUTS[self.kind]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        subject = _readable_subject(request, pk)
        model = KINDS[self.kind][0]
        rows = model.objects.filter(subject=subject).order_by(_ORDER[self.kind], "pk")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([_body(row, subject) for row in page])

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        subject = _readable_subject(request, pk)
        _require_entry(request, subject)
        parser = _INPUTS[self.kind](data=request.data, partial=True)
        parser.is_valid(raise_exception=True)
        values = dict(parser.validated_data)
        values.pop("version", None)
        values.pop("reason", None)
        record = KINDS[self.kind][2](subject, actor=request.user, values=values)
        return Response(_body(record, subject), status=status.HTTP_201_CREATED)


class SubjectRecordDetailApi(GenericAPIView):
    """GET one record; PUT changes it (send the ``version`` you read and, once submitted, a
    ``reason``); derived values (the ELN category, MRD status) are re-derived by the service."""

    kind = "responses"
    queryset = Subject.objects.none()

    def get_serializer_class(self):
        return _INPUTS[self.kind]

    def _record(self, request, pk: int, record_id: int):
        subject = _readable_subject(request, pk)
        return subject, get_object_or_404(KINDS[self.kind][0], pk=record_id, subject=subject)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int, record_id: int):
        subject, record = self._record(request, pk, record_id)
        return Response(_body(record, subject))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def put(self, request, pk: int, record_id: int):
        subject, record = self._record(request, pk, record_id)
        _require_entry(request, subject)
        parser = _INPUTS[self.kind](data=request.data, partial=True)
        parser.is_valid(raise_exception=True)
        values = dict(parser.validated_data)
        version = values.pop("version", None)
        reason = values.pop("reason", "")
        saved = KINDS[self.kind][2](
            subject,
            actor=request.user,
            values=values,
            record=record,
            expected_version=version,
            reason=reason,
        )
        return Response(_body(saved, subject))


_STUDY_FIELDS = {
    "responses": ("timepoint", "assessment_date", "computed_category", "mrd_status", "decision",
                  "decided_category", "bm_blasts_pct"),
    "follow-up": ("contact_date", "survival_status", "last_known_alive_date", "disease_status"),
    "disease-events": ("event_type", "event_date"),
}  # fmt: skip
_DATES = {"assessment_date", "contact_date", "last_known_alive_date", "event_date"}


def _study_row(row, kind: str, identified: bool) -> dict:
    day0 = row.subject.day0
    label = row.subject.subject_number or row.subject.screening_number
    data = {"id": row.pk, "subject": label, "study_day": study_day(row.assessment_date_value, day0)}
    for name in _STUDY_FIELDS[kind]:
        value = getattr(row, name)
        if name in _DATES:
            if name != row.assessment_date_field and value is not None:
                data[name.replace("_date", "_day")] = study_day(value, day0)
            if not identified:
                continue
        data[name] = value
    if kind == "responses":
        data["month"] = row.month
        data["category_of_record"] = row.category_of_record
        data["overridden"] = row.overridden
    if identified:
        data["subject_id"] = row.subject_id
    return data


class StudyRecordListApi(GenericAPIView):
    """The study's records of this CRF the caller may read (2 queries); sponsors read the
    subject ID and study days only."""

    kind = "responses"
    queryset = Subject.objects.none()

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, study_id: int):
        study = get_object_or_404(permissions.studies_for(request.user), pk=study_id)
        level = permissions.access_level(request.user, study)
        identified = level in (permissions.WRITE, permissions.READ)
        if not identified and level != "deidentified":
            raise Http404
        action = Action.VIEW_CLINICAL if identified else Action.VIEW_DEIDENTIFIED
        model = KINDS[self.kind][0]
        rows = permissions.scope_by_site(
            model.objects.filter(study=study).select_related("subject"),
            request.user,
            action,
            study=study,
            site_field="subject__site",
        ).order_by("subject_id", _ORDER[self.kind], "pk")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([_study_row(r, self.kind, identified) for r in page])


def _subclass(base, kind: str, operations: dict[str, str]):
    view = type(f"{kind.title().replace('-', '')}{base.__name__}", (base,), {"kind": kind})
    slug = kind.replace("-", "_")
    schemas = {
        method: extend_schema(operation_id=f"efficacy_{slug}_{op}")
        for method, op in operations.items()
    }
    return extend_schema_view(**schemas)(view)


_LIST = {"get": "list", "post": "create"}
_DETAIL = {"get": "retrieve", "put": "update"}
_STUDY = {"get": "study_list"}
ResponseListApi = _subclass(SubjectRecordListApi, "responses", _LIST)
ResponseDetailApi = _subclass(SubjectRecordDetailApi, "responses", _DETAIL)
FollowUpListApi = _subclass(SubjectRecordListApi, "follow-up", _LIST)
FollowUpDetailApi = _subclass(SubjectRecordDetailApi, "follow-up", _DETAIL)
DiseaseEventListApi = _subclass(SubjectRecordListApi, "disease-events", _LIST)
DiseaseEventDetailApi = _subclass(SubjectRecordDetailApi, "disease-events", _DETAIL)
StudyResponseListApi = _subclass(StudyRecordListApi, "responses", _STUDY)
StudyFollowUpListApi = _subclass(StudyRecordListApi, "follow-up", _STUDY)
StudyDiseaseEventListApi = _subclass(StudyRecordListApi, "disease-events", _STUDY)
