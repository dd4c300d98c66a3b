"""Off-study API: GET the subject's off-study record; PUT records it (no version) or corrects
it (the version you read; missing: 428, stale: 409). Thin over ``enrollment.off_study``: bad
values are 400 with the same field errors as the page. Sponsors (de-identified) read the study
day from Day 0 instead of the date, and may not write.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from enrollment.api import _subject_for, crf_input_serializer
from enrollment.models import OffStudy
from enrollment.off_study import off_study_record, save_off_study
from enrollment.schedule import study_day
from trialsite.studies import permissions
from trialsite.studies.roles import Action

OffStudyInput = crf_input_serializer(OffStudy)


class OffStudyOutput(serializers.Serializer):
    off_study_date = serializers.DateField(required=False)
    off_study_day = serializers.IntegerField(
        allow_null=True, help_text="Study day from Day 0 (the CAR-T infusion); null before it."
    )
    off_study_reason = serializers.CharField()
    reason_specify = serializers.CharField()
    comments = serializers.CharField(required=False)
    version = serializers.IntegerField()
    status = serializers.CharField()


def _output(record: OffStudy, subject, access: str) -> dict:
    data = {
        "off_study_day": study_day(record.off_study_date, subject.day0),
        "off_study_reason": record.off_study_reason,
        "reason_specify": record.reason_specify,
        "version": record.version,
        "status": record.status,
    }
    if access == "identified":
        data.update(off_study_date=record.off_study_date, comments=record.comments)
    return OffStudyOutput(data).data


class OffStudyApi(GenericAPIView):
    queryset = OffStudy.objects.none()
    serializer_class = OffStudyOutput

    @extend_schema(operation_id="off_study_retrieve", responses=OffStudyOutput)
    def get(self, request, pk: int):
        subject, access = _subject_for(request, pk)
        record = off_study_record(subject)
        if record is None:
            raise Http404("No off-study record.")
        return Response(_output(record, subject, access))

    @extend_schema(operation_id="off_study_save", request=OffStudyInput, responses=OffStudyOutput)
    def put(self, request, pk: int):
        subject, _access = _subject_for(request, pk)
        if not permissions.can(
            request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
        ):
            raise PermissionDenied
        parser = OffStudyInput(data=request.data, partial=True)
        parser.is_valid(raise_exception=True)
        values = dict(parser.validated_data)
        version = values.pop("version", None)
        reason = values.pop("reason", "")
        record = save_off_study(
            subject, actor=request.user, values=values, expected_version=version, reason=reason,
            record=off_study_record(subject) if version is not None else None,
        )  # fmt: skip
        code = status.HTTP_201_CREATED if version is None else status.HTTP_200_OK
        return Response(_output(record, subject, "identified"), status=code)
