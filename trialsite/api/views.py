"""Platform endpoints: who am I, and the studies I may see (thin over selectors)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from trialsite.studies.models import Membership, Study
from trialsite.studies.selectors import studies_for_user


class StudyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    protocol_number = serializers.CharField()
    nct_id = serializers.CharField()
    title = serializers.CharField()
    short_title = serializers.CharField()
    phase = serializers.CharField()
    design = serializers.CharField()
    status = serializers.CharField()
    data_version = serializers.IntegerField()
    settings_version = serializers.IntegerField()
    site_count = serializers.IntegerField()


class StudyListApi(GenericAPIView):
    """The studies where the caller holds a role."""

    serializer_class = StudyOutput
    queryset = Study.objects.none()  # for the schema's pagination; rows come from the selector

    @extend_schema(operation_id="studies_list", responses=StudyOutput(many=True))
    def get(self, request):
        page = self.paginate_queryset(studies_for_user(request.user))
        return self.get_paginated_response(StudyOutput(page, many=True).data)


class StudyDetailApi(GenericAPIView):
    serializer_class = StudyOutput

    @extend_schema(operation_id="studies_retrieve")
    def get(self, request, study_id: int):
        study = studies_for_user(request.user).filter(pk=study_id).first()
        if study is None:
            raise Http404
        return Response(StudyOutput(study).data)


class MeOutput(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField()
    roles = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class MeApi(GenericAPIView):
    serializer_class = MeOutput

    def get(self, request):
        roles: dict[str, list[str]] = {}
        for protocol, role in (
            Membership.objects.filter(user=request.user, is_active=True)
            .order_by("study__protocol_number", "role")
            .values_list("study__protocol_number", "role")
            .distinct()
        ):
            roles.setdefault(protocol, []).append(role)
        data = {
            "username": request.user.get_username(),
            "full_name": request.user.get_full_name(),
            "roles": roles,
        }
        return Response(MeOutput(data).data)
