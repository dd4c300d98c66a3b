"""API of the daily CRS/ICANS assessments (read and write, through the services) and of their
episodes (read-only). Same conventions as ``enrollment.api``: identified access only (the
assessments carry dates), writes with the ``version`` that was read (428 without it on a
change, 409 when stale), bad values 400 with field errors and codes, nothing saved.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from enrollment.api import _subject_for
from enrollment.models import Subject
from safety import selectors_crs, services
from safety.forms_crs import CRSAssessmentForm, ICANSAssessmentForm
from safety.models import CRSAssessment, ICANSAssessment
from safety.services.crs_grading import stored_sentence
from trialsite.studies import permissions
from trialsite.studies.roles import Action

KINDS = {
    "crs": (CRSAssessment, CRSAssessmentForm, services.save_crs_assessment),
    "icans": (ICANSAssessment, ICANSAssessmentForm, services.save_icans_assessment),
}
_DERIVED = ("grade", "deciding", "fever", "needs_review", "ice_score")


def input_serializer(model, names) -> type[serializers.ModelSerializer]:
    """Parses and type-checks the CRF's own fields; the service does every clinical check."""
    meta = type(
        "Meta",
        (),
        {
            "model": model,
            "fields": [*names, "version", "reason"],
            "extra_kwargs": {name: {"required": False, "validators": []} for name in names},
        },
    )
    attrs = {
        "Meta": meta,
        "version": serializers.IntegerField(required=False, allow_null=True),
        "reason": serializers.CharField(required=False, allow_blank=True, default=""),
    }
    if "vasopressors" in names:
        attrs["vasopressors"] = serializers.ListField(child=serializers.CharField(), required=False)
    return type(f"{model.__name__}Input", (serializers.ModelSerializer,), attrs)


_INPUTS = {
    kind: input_serializer(model, form._meta.fields) for kind, (model, form, _s) in KINDS.items()
}


def _body(record, subject: Subject) -> dict:
    record.subject = subject
    data = {
        "id": record.pk,
        **record.content_values(),
        "study_day": record.study_day,
        "sentence": stored_sentence(record),
        "version": record.version,
        "status": record.status,
    }
    data.pop("subject", None)
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


class DailyAssessmentListApi(GenericAPIView):
    """GET the subject's daily assessments (oldest first); POST adds one day."""

    kind = "crs"
    queryset = Subject.objects.none()

    def get_serializer_class(self):
        return _INPUTS[self.kind]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        subject = _readable_subject(request, pk)
        model = KINDS[self.kind][0]
        page = self.paginate_queryset(selectors_crs.daily_assessments(subject, model))
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


class DailyAssessmentDetailApi(GenericAPIView):
    """GET one day; PUT changes it (send the ``version`` you read and, once submitted, a
    ``reason``); the grade, the episodes and their AEs are re-derived by the service."""

    kind = "crs"
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


class EpisodeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    onset_date = serializers.DateField()
    last_day = serializers.DateField()
    resolution_date = serializers.DateField(allow_null=True)
    max_grade = serializers.IntegerField()
    max_grade_date = serializers.DateField()
    current_grade = serializers.IntegerField()
    duration_days = serializers.IntegerField()
    treatments = serializers.ListField(child=serializers.CharField())
    daily_grades = serializers.ListField(child=serializers.ListField())
    adverse_event = serializers.IntegerField(allow_null=True, source="event_id")
    version = serializers.IntegerField()


class EpisodeListApi(GenericAPIView):
    """GET the subject's episodes (derived, read-only) with the id of the AE each is kept as."""

    kind = "crs"
    queryset = Subject.objects.none()
    serializer_class = EpisodeOutput

    @extend_schema(responses=EpisodeOutput(many=True))
    def get(self, request, pk: int):
        subject = _readable_subject(request, pk)
        rows = selectors_crs.episodes_with_events(subject, KINDS[self.kind][0])
        for episode, event in rows:
            episode.event_id = event.pk if event is not None else None
        page = self.paginate_queryset([episode for episode, _event in rows])
        return self.get_paginated_response(EpisodeOutput(page, many=True).data)


def _subclass(base, kind: str, operations: dict[str, str]):
    """The CRS or ICANS resource, with its own OpenAPI operation ids."""
    view = type(f"{kind.upper()}{base.__name__}", (base,), {"kind": kind})
    schemas = {
        method: extend_schema(operation_id=f"{kind}_{op}") for method, op in operations.items()
    }
    return extend_schema_view(**schemas)(view)


_LIST = {"get": "assessments_list", "post": "assessment_create"}
_DETAIL = {"get": "assessment_retrieve", "put": "assessment_update"}
_EPISODES = {"get": "episodes_list"}
CRSListApi = _subclass(DailyAssessmentListApi, "crs", _LIST)
ICANSListApi = _subclass(DailyAssessmentListApi, "icans", _LIST)
CRSDetailApi = _subclass(DailyAssessmentDetailApi, "crs", _DETAIL)
ICANSDetailApi = _subclass(DailyAssessmentDetailApi, "icans", _DETAIL)
CRSEpisodeListApi = _subclass(EpisodeListApi, "crs", _EPISODES)
ICANSEpisodeListApi = _subclass(EpisodeListApi, "icans", _EPISODES)
