"""DLT API: evaluations (per study and per subject) and adjudications (thin over services).

Read resources follow the enrollment API's conventions: scoped by the permission module, 404
for what the caller may not see, and de-identified for sponsors (no dates: study days only).
Adjudication writes are the investigator's, through ``safety.services.adjudicate_dlt`` (400
with field errors, 409 for a stale event version), with the password as the e-signature.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from enrollment.api import _can_read, _subject_for
from safety import selectors
from safety.models import AdverseEvent, DLTAdjudication, DLTEvaluation
from safety.services import dlt as services
from trialsite.studies import permissions
from trialsite.studies.roles import Action


class DLTEvaluationOutput(serializers.Serializer):
    subject_id = serializers.IntegerField()
    subject = serializers.CharField()
    dlt_status = serializers.CharField()
    dlt = serializers.BooleanField(allow_null=True)
    evaluable = serializers.BooleanField()
    max_related_grade = serializers.IntegerField()
    max_unassessed_grade = serializers.IntegerField()
    window_end_day = serializers.IntegerField()
    closes_on_day = serializers.IntegerField()
    grace_days = serializers.IntegerField()
    first_dlt_day = serializers.IntegerField(allow_null=True)
    as_of_day = serializers.IntegerField()
    left_study_day = serializers.IntegerField(allow_null=True)
    count_recovery = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    candidates = serializers.ListField(child=serializers.DictField())
    awaiting_adjudication = serializers.IntegerField()
    data_version = serializers.IntegerField()
    settings_version = serializers.IntegerField()
    version = serializers.IntegerField()


class IdentifiedDLTEvaluationOutput(DLTEvaluationOutput):
    """With the dates, for those who read identified data (absent for sponsors)."""

    window_start = serializers.DateField(
        required=False, help_text="Day 0, the CAR-T infusion (not shown to sponsors)."
    )
    as_of_date = serializers.DateField(required=False, help_text="Not shown to sponsors.")


def _evaluation_data(evaluation: DLTEvaluation) -> dict:
    return {
        **{name: getattr(evaluation, name) for name in IdentifiedDLTEvaluationOutput().fields},
        "subject": str(evaluation.subject),
    }


def _output(access: str):
    return IdentifiedDLTEvaluationOutput if access == "identified" else DLTEvaluationOutput


class DLTEvaluationListApi(GenericAPIView):
    """The study's DLT evaluations at the sites the caller may read (paginated)."""

    serializer_class = IdentifiedDLTEvaluationOutput
    queryset = DLTEvaluation.objects.none()

    @extend_schema(
        operation_id="dlt_evaluations_list", responses=IdentifiedDLTEvaluationOutput(many=True)
    )
    def get(self, request, study_id: int):
        study = get_object_or_404(permissions.studies_for(request.user), pk=study_id)
        access = _can_read(request.user, study)
        if access is None:
            raise Http404
        sites = None
        if access == "identified":
            sites = permissions.site_ids(request.user, Action.VIEW_CLINICAL, study=study)
        page = self.paginate_queryset(selectors.evaluations(study, site_ids=sites))
        rows = [_evaluation_data(e) for e in page]
        return self.get_paginated_response(_output(access)(rows, many=True).data)


class SubjectDLTEvaluationApi(GenericAPIView):
    """One subject's stored DLT evaluation (404 while the subject has no Day 0)."""

    serializer_class = IdentifiedDLTEvaluationOutput
    queryset = DLTEvaluation.objects.none()

    @extend_schema(
        operation_id="subject_dlt_evaluation_retrieve", responses=IdentifiedDLTEvaluationOutput
    )
    def get(self, request, pk: int):
        subject, access = _subject_for(request, pk)
        evaluation = get_object_or_404(
            DLTEvaluation.objects.select_related("subject"), subject=subject
        )
        return Response(_output(access)(_evaluation_data(evaluation)).data)


class AdjudicationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.IntegerField(source="event_id")
    event_version = serializers.IntegerField()
    current = serializers.BooleanField(help_text="The verdict covers the event as it is now.")
    is_dlt = serializers.BooleanField()
    rationale = serializers.CharField()
    decided_on = serializers.DateField()
    investigator = serializers.CharField(source="created_by.get_full_name")
    status = serializers.CharField()
    version = serializers.IntegerField()


class AdjudicationInput(serializers.Serializer):
    event = serializers.IntegerField()
    event_version = serializers.IntegerField(required=False, allow_null=True)
    is_dlt = serializers.BooleanField(allow_null=True, required=False, default=None)
    rationale = serializers.CharField(allow_blank=True, required=False, default="")
    password = serializers.CharField(allow_blank=True, required=False, default="")


class SubjectDLTAdjudicationsApi(GenericAPIView):
    """GET the subject's adjudications; POST the investigator's verdict on one candidate."""

    serializer_class = AdjudicationOutput
    queryset = DLTAdjudication.objects.none()

    def _identified(self, request, pk: int):
        subject, access = _subject_for(request, pk)
        if access != "identified":
            raise PermissionDenied  # rationales are free text: not de-identified
        return subject

    @extend_schema(
        operation_id="subject_dlt_adjudications_list", responses=AdjudicationOutput(many=True)
    )
    def get(self, request, pk: int):
        subject = self._identified(request, pk)
        rows = list(selectors.adjudications(subject))
        return Response(AdjudicationOutput(rows, many=True).data)

    @extend_schema(
        operation_id="subject_dlt_adjudication_create",
        request=AdjudicationInput,
        responses={201: AdjudicationOutput},
    )
    def post(self, request, pk: int):
        subject = self._identified(request, pk)
        if not permissions.can(
            request.user, Action.ADJUDICATE_DLT, study=subject.study, site=subject.site_id
        ):
            raise PermissionDenied
        parser = AdjudicationInput(data=request.data)
        parser.is_valid(raise_exception=True)
        values = parser.validated_data
        event = AdverseEvent.objects.filter(pk=values["event"], subject=subject).first()
        if event is None:
            raise serializers.ValidationError({"event": ["Not an adverse event of this subject."]})
        adjudication = services.adjudicate_dlt(
            event,
            actor=request.user,
            is_dlt=values["is_dlt"],
            rationale=values["rationale"],
            password=values["password"],
            event_version=values.get("event_version"),
        )
        adjudication = selectors.adjudications(subject).get(pk=adjudication.pk)
        return Response(AdjudicationOutput(adjudication).data, status=status.HTTP_201_CREATED)
