"""Transfusion API: a subject's transfusions (list, add, read, correct).

Thin over ``safety.selectors_transfusions`` and ``safety.services.save_transfusion`` (the same
checks and messages as the form). A correction needs the ``version`` you read (missing: 428,
stale: 409); bad values are 400 with field errors. Sponsors (de-identified access) get the study
day (``transfusion_day``, days from Day 0; null before it) instead of the date and cannot write.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from enrollment.api import _subject_for
from enrollment.schedule import study_day
from safety.models import Transfusion
from safety.selectors_transfusions import transfusions_of
from safety.services import save_transfusion
from trialsite.studies import permissions
from trialsite.studies.roles import Action

WRITABLE = ["transfusion_date", "product", "units", "reason"]


class TransfusionInput(serializers.ModelSerializer):
    """Parses and type-checks; the service does every clinical check."""

    version = serializers.IntegerField(required=False, allow_null=True)
    change_reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Reason for a correction."
    )

    class Meta:
        model = Transfusion
        fields = [*WRITABLE, "version", "change_reason"]
        extra_kwargs = {name: {"required": False, "validators": []} for name in WRITABLE}


class TransfusionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    transfusion_date = serializers.DateField()
    study_day = serializers.IntegerField(allow_null=True)
    product = serializers.CharField()
    units = serializers.IntegerField()
    reason = serializers.CharField()
    status = serializers.CharField()
    version = serializers.IntegerField()


class DeidentifiedTransfusionOutput(serializers.Serializer):
    """The sponsor's view: the study day from Day 0, no date."""

    id = serializers.IntegerField()
    transfusion_day = serializers.SerializerMethodField()
    product = serializers.CharField()
    units = serializers.IntegerField()
    reason = serializers.CharField()
    version = serializers.IntegerField()

    def get_transfusion_day(self, row) -> int | None:
        return study_day(row.transfusion_date, self.context["day0"])


def _output(rows, subject, access, *, many=False):
    if access == "identified":
        return TransfusionOutput(rows, many=many).data
    return DeidentifiedTransfusionOutput(rows, many=many, context={"day0": subject.day0}).data


def _require_entry(request, subject) -> None:
    if not permissions.can(
        request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
    ):
        raise PermissionDenied


def _parse(request, *, partial: bool) -> tuple[dict, int | None, str]:
    parser = TransfusionInput(data=request.data, partial=partial)
    parser.is_valid(raise_exception=True)
    values = dict(parser.validated_data)
    return values, values.pop("version", None), values.pop("change_reason", "")


def _one(subject, record_id: int) -> Transfusion:
    row = get_object_or_404(Transfusion, pk=record_id, subject=subject)
    row.subject = subject
    return row


class TransfusionListApi(GenericAPIView):
    """GET the subject's transfusions (newest first); POST adds one (site data entry)."""

    queryset = Transfusion.objects.none()
    serializer_class = TransfusionOutput
    pagination_class = None  # a subject has a handful; one query for all

    @extend_schema(operation_id="transfusions_list", responses=TransfusionOutput(many=True))
    def get(self, request, pk: int):
        subject, access = _subject_for(request, pk)
        return Response(_output(transfusions_of(subject), subject, access, many=True))

    @extend_schema(
        operation_id="transfusions_create",
        request=TransfusionInput,
        responses={201: TransfusionOutput},
    )
    def post(self, request, pk: int):
        subject, _access = _subject_for(request, pk)
        _require_entry(request, subject)
        values, _version, reason = _parse(request, partial=False)
        saved = save_transfusion(subject, actor=request.user, values=values, reason=reason)
        return Response(
            _output(_one(subject, saved.pk), subject, "identified"),
            status=status.HTTP_201_CREATED,
        )


class TransfusionDetailApi(GenericAPIView):
    """GET one transfusion; PATCH corrects it with the ``version`` you read and a reason."""

    queryset = Transfusion.objects.none()
    serializer_class = TransfusionOutput

    @extend_schema(operation_id="transfusions_retrieve", responses=TransfusionOutput)
    def get(self, request, pk: int, record_id: int):
        subject, access = _subject_for(request, pk)
        return Response(_output(_one(subject, record_id), subject, access))

    @extend_schema(
        operation_id="transfusions_partial_update",
        request=TransfusionInput,
        responses=TransfusionOutput,
    )
    def patch(self, request, pk: int, record_id: int):
        subject, _access = _subject_for(request, pk)
        _require_entry(request, subject)
        row = _one(subject, record_id)
        values, version, reason = _parse(request, partial=True)
        save_transfusion(
            subject,
            actor=request.user,
            values=values,
            record=row,
            expected_version=version,
            reason=reason,
        )
        return Response(_output(_one(subject, record_id), subject, "identified"))


urlpatterns = [
    path(
        "v1/subjects/<int:pk>/transfusions/",
        TransfusionListApi.as_view(),
        name="subject-transfusions",
    ),
    path(
        "v1/subjects/<int:pk>/transfusions/<int:record_id>/",
        TransfusionDetailApi.as_view(),
        name="subject-transfusion",
    ),
]
