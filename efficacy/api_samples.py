"""Efficacy sample API: a subject's kinetics samples, anti-CAR antibody results and RCL tests.

Read resources on the existing conventions (``enrollment.api._subject_for``: 404 when the user
may not read the subject, paginated lists, fixed query counts). Writes go through the CSV import
(``efficacy.sample_import``). Sponsors get the de-identified view: study days instead of dates,
no sample ID (a laboratory number can be traced back to the patient).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from efficacy import selectors_samples
from efficacy.models import AntiCARAntibody, KineticsSample, RCLTest
from enrollment.api import _subject_for


class _Identified(serializers.Serializer):
    id = serializers.IntegerField()
    sample_id = serializers.CharField()
    study_day = serializers.IntegerField(allow_null=True)
    timepoint = serializers.CharField()
    version = serializers.IntegerField()


class _Deidentified(serializers.Serializer):
    id = serializers.IntegerField()
    study_day = serializers.IntegerField(allow_null=True)
    timepoint = serializers.CharField()


class _KineticsFields(serializers.Serializer):
    compartment = serializers.CharField()
    method = serializers.CharField()
    value = serializers.DecimalField(max_digits=18, decimal_places=4, allow_null=True)
    blq = serializers.BooleanField()
    lloq = serializers.DecimalField(max_digits=18, decimal_places=4, allow_null=True)
    unit = serializers.CharField()


class KineticsOutput(_Identified, _KineticsFields):
    collected_at = serializers.DateTimeField()


class DeidentifiedKineticsOutput(_Deidentified, _KineticsFields):
    pass


class _AntiCARFields(serializers.Serializer):
    result = serializers.CharField()
    titre = serializers.IntegerField(allow_null=True)


class AntiCAROutput(_Identified, _AntiCARFields):
    collected_on = serializers.DateField()


class DeidentifiedAntiCAROutput(_Deidentified, _AntiCARFields):
    pass


class _RCLFields(serializers.Serializer):
    method = serializers.CharField()
    result = serializers.CharField()
    insertion_site = serializers.CharField()
    dominant_clone_pct = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)


class RCLOutput(_Identified, _RCLFields):
    collected_on = serializers.DateField()


class DeidentifiedRCLOutput(_Deidentified, _RCLFields):
    pass


class _SampleListApi(GenericAPIView):
    """GET the subject's samples of one type in collection order."""

    select = None
    identified = None
    deidentified = None

    def get(self, request, pk: int):
        subject, access = _subject_for(request, pk)
        records = type(self).select(subject)
        for record in records:
            record.subject = subject  # the study day reads Day 0 without a query per row
        page = self.paginate_queryset(records)
        serializer = self.identified if access == "identified" else self.deidentified
        return self.get_paginated_response(serializer(page, many=True).data)


class SubjectKineticsApi(_SampleListApi):
    queryset = KineticsSample.objects.none()
    serializer_class = KineticsOutput
    select = staticmethod(selectors_samples.kinetics_of)
    identified = KineticsOutput
    deidentified = DeidentifiedKineticsOutput

    @extend_schema(operation_id="subject_efficacy_kinetics_list",
                   responses=KineticsOutput(many=True))  # fmt: skip
    def get(self, request, pk: int):
        return super().get(request, pk)


class SubjectAntiCARApi(_SampleListApi):
    queryset = AntiCARAntibody.objects.none()
    serializer_class = AntiCAROutput
    select = staticmethod(selectors_samples.anti_car_of)
    identified = AntiCAROutput
    deidentified = DeidentifiedAntiCAROutput

    @extend_schema(operation_id="subject_efficacy_anti_car_list",
                   responses=AntiCAROutput(many=True))  # fmt: skip
    def get(self, request, pk: int):
        return super().get(request, pk)


class SubjectRCLApi(_SampleListApi):
    queryset = RCLTest.objects.none()
    serializer_class = RCLOutput
    select = staticmethod(selectors_samples.rcl_of)
    identified = RCLOutput
    deidentified = DeidentifiedRCLOutput

    @extend_schema(operation_id="subject_efficacy_rcl_list", responses=RCLOutput(many=True))
    def get(self, request, pk: int):
        return super().get(request, pk)
