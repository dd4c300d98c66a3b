"""Lab API: a subject's collections with their graded results (read), and a new collection
through the lab service (write). Site-scoped by the permission module; sponsors get the
de-identified view (study day and days from consent instead of dates, no accession number)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from enrollment import deidentify
from enrollment.api import _subject_for
from enrollment.selectors import first_consent_date
from safety import selectors_labs
from safety.models import LabPanel, Specimen
from safety.services import save_lab_panel
from trialsite.studies import permissions
from trialsite.studies.roles import Action


class LabResultOutput(serializers.Serializer):
    id = serializers.IntegerField()
    test_code = serializers.CharField()
    value = serializers.DecimalField(max_digits=16, decimal_places=4)
    unit = serializers.CharField()
    lln = serializers.DecimalField(max_digits=16, decimal_places=4, allow_null=True)
    uln = serializers.DecimalField(max_digits=16, decimal_places=4, allow_null=True)
    is_baseline = serializers.BooleanField()
    flag = serializers.CharField()
    ctcae_term = serializers.CharField()
    grade = serializers.IntegerField(allow_null=True)
    grade_flags = serializers.ListField(child=serializers.CharField())
    baseline_value = serializers.DecimalField(max_digits=16, decimal_places=4, allow_null=True)
    pre_treatment = serializers.BooleanField()
    settings_version = serializers.IntegerField(allow_null=True)
    version = serializers.IntegerField()


class LabPanelOutput(serializers.Serializer):
    id = serializers.IntegerField()
    collected_at = serializers.DateTimeField()
    study_day = serializers.IntegerField(allow_null=True)
    specimen = serializers.CharField()
    accession_number = serializers.CharField()
    lab_name = serializers.CharField()
    version = serializers.IntegerField()
    results = LabResultOutput(many=True, source="results.all")


class DeidentifiedLabPanelOutput(serializers.Serializer):
    id = serializers.IntegerField()
    study_day = serializers.IntegerField(allow_null=True)
    collected_days_from_consent = serializers.SerializerMethodField()
    specimen = serializers.CharField()
    results = LabResultOutput(many=True, source="results.all")

    def get_collected_days_from_consent(self, panel) -> int | None:
        consent = self.context.get("consent")
        return deidentify.days_from(consent, timezone.localtime(panel.collected_at).date())


class LabResultInput(serializers.Serializer):
    test_code = serializers.CharField()
    value = serializers.CharField()
    unit = serializers.CharField(required=False, allow_blank=True, default="")
    lln = serializers.CharField(required=False, allow_null=True, default=None)
    uln = serializers.CharField(required=False, allow_null=True, default=None)
    is_baseline = serializers.BooleanField(required=False, default=False)


class LabPanelInput(serializers.Serializer):
    collected_at = serializers.DateTimeField()
    specimen = serializers.ChoiceField(choices=Specimen.choices, default=Specimen.BLOOD)
    accession_number = serializers.CharField(required=False, allow_blank=True, default="")
    lab_name = serializers.CharField(required=False, allow_blank=True, default="")
    results = LabResultInput(many=True)


class SubjectLabPanelsApi(GenericAPIView):
    """GET the subject's collections (newest first); POST a new one (graded on save)."""

    queryset = LabPanel.objects.none()
    serializer_class = LabPanelOutput

    @extend_schema(operation_id="subject_lab_panels_list", responses=LabPanelOutput(many=True))
    def get(self, request, pk: int):
        subject, access = _subject_for(request, pk)
        panels = selectors_labs.panels_of(subject)
        page = self.paginate_queryset(panels)
        if access == "identified":
            data = LabPanelOutput(page, many=True).data
        else:
            consent = first_consent_date(subject)
            data = DeidentifiedLabPanelOutput(page, many=True, context={"consent": consent}).data
        return self.get_paginated_response(data)

    @extend_schema(
        operation_id="subject_lab_panels_create",
        request=LabPanelInput,
        responses={201: LabPanelOutput},
    )
    def post(self, request, pk: int):
        subject, access = _subject_for(request, pk)
        if access != "identified" or not permissions.can(
            request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
        ):
            raise PermissionDenied
        parser = LabPanelInput(data=request.data)
        parser.is_valid(raise_exception=True)
        values = dict(parser.validated_data)
        results = [dict(row) for row in values.pop("results")]
        panel = save_lab_panel(subject, actor=request.user, values=values, results=results)
        panel = get_object_or_404(selectors_labs.panels_of(subject),
                                  pk=panel.pk)  # fmt: skip
        return Response(LabPanelOutput(panel).data, status=status.HTTP_201_CREATED)
