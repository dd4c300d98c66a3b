"""AE API: a subject's adverse events (list, create, read, change) and the CTCAE term search.

Thin over ``safety.selectors_ae`` and ``save_adverse_event`` (the same checks and messages as
the form). A change needs the ``version`` you read (missing: 428, stale: 409); bad values are
400 with field errors. Sponsors (de-identified access) get study days instead of dates
(``onset_day`` = days from Day 0, the CAR-T infusion; null before it) and may not write.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from enrollment.api import _subject_for
from enrollment.schedule import study_day
from safety import selectors_ae as selectors
from safety.models import (
    AdverseEvent,
    AdverseEventGrade,
    CTCAETerm,
    SeriousnessCriterion,
    Treatment,
)
from safety.services import save_adverse_event
from trialsite.studies import permissions
from trialsite.studies.roles import Action

WRITABLE = [
    "term",
    "verbatim_term",
    "onset_date",
    "ongoing",
    "resolution_date",
    "grade",
    "grade_date",
    "serious",
    "seriousness_criteria",
    "relationship_car_t",
    "relationship_lymphodepletion",
    "expectedness",
    "action_taken",
    "treatments",
    "treatment_other",
    "outcome",
    "death_date",
]
DATES = ["onset_date", "resolution_date", "grade_date", "worst_grade_date", "death_date"]


class AdverseEventInput(serializers.ModelSerializer):
    """Parses and type-checks; the service does every clinical check."""

    term = serializers.PrimaryKeyRelatedField(queryset=CTCAETerm.objects.all(), required=False)
    seriousness_criteria = serializers.ListField(
        child=serializers.ChoiceField(choices=SeriousnessCriterion.choices), required=False
    )
    treatments = serializers.ListField(
        child=serializers.ChoiceField(choices=Treatment.choices), required=False
    )
    version = serializers.IntegerField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="")

    class Meta:
        model = AdverseEvent
        fields = [*WRITABLE, "version", "reason"]
        extra_kwargs = {name: {"required": False, "validators": []} for name in WRITABLE}


class GradeStepOutput(serializers.Serializer):
    grade = serializers.IntegerField()
    from_date = serializers.DateField()


class AdverseEventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    term = serializers.IntegerField(source="term_id")
    term_name = serializers.CharField(source="term.term")
    soc = serializers.CharField(source="term.soc")
    verbatim_term = serializers.CharField()
    onset_date = serializers.DateField()
    ongoing = serializers.BooleanField()
    resolution_date = serializers.DateField(allow_null=True)
    grade = serializers.IntegerField()
    grade_date = serializers.DateField(allow_null=True)
    worst_grade = serializers.IntegerField()
    worst_grade_date = serializers.DateField(allow_null=True)
    serious = serializers.BooleanField()
    seriousness_criteria = serializers.ListField(child=serializers.CharField())
    relationship_car_t = serializers.CharField()
    relationship_lymphodepletion = serializers.CharField()
    expectedness = serializers.CharField()
    action_taken = serializers.CharField()
    treatments = serializers.ListField(child=serializers.CharField())
    treatment_other = serializers.CharField()
    outcome = serializers.CharField()
    death_date = serializers.DateField(allow_null=True)
    source = serializers.CharField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    grade_history = GradeStepOutput(many=True, source="grade_steps.all")


class DeidentifiedAdverseEventOutput(AdverseEventOutput):
    """The sponsor's view: study days from Day 0 instead of dates."""

    onset_date = resolution_date = grade_date = worst_grade_date = death_date = None
    onset_day = serializers.SerializerMethodField()
    resolution_day = serializers.SerializerMethodField()
    grade_day = serializers.SerializerMethodField()
    worst_grade_day = serializers.SerializerMethodField()
    death_day = serializers.SerializerMethodField()
    grade_history = serializers.SerializerMethodField()

    def _day(self, value):
        return study_day(value, self.context["day0"])

    def get_onset_day(self, event) -> int | None:
        return self._day(event.onset_date)

    def get_resolution_day(self, event) -> int | None:
        return self._day(event.resolution_date)

    def get_grade_day(self, event) -> int | None:
        return self._day(event.grade_date)

    def get_worst_grade_day(self, event) -> int | None:
        return self._day(event.worst_grade_date)

    def get_death_day(self, event) -> int | None:
        return self._day(event.death_date)

    def get_grade_history(self, event) -> list[dict]:
        return [
            {"grade": s.grade, "from_day": self._day(s.from_date)} for s in event.grade_steps.all()
        ]


def _events(subject):
    steps = AdverseEventGrade.objects.order_by("from_date", "pk")
    return selectors.adverse_events(subject).prefetch_related(
        Prefetch("grade_steps", queryset=steps)
    )


def _output(events, subject, access, *, many=False):
    if access == "identified":
        return AdverseEventOutput(events, many=many).data
    return DeidentifiedAdverseEventOutput(events, many=many, context={"day0": subject.day0}).data


def _require_entry(request, subject) -> None:
    if not permissions.can(
        request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
    ):
        raise PermissionDenied


def _parse(request, *, partial: bool) -> tuple[dict, int | None, str]:
    parser = AdverseEventInput(data=request.data, partial=partial)
    parser.is_valid(raise_exception=True)
    values = dict(parser.validated_data)
    return values, values.pop("version", None), values.pop("reason", "")


class AdverseEventListApi(GenericAPIView):
    """GET the subject's adverse events (by onset); POST adds one (coordinators, investigators)."""

    queryset = AdverseEvent.objects.none()
    serializer_class = AdverseEventOutput

    @extend_schema(operation_id="adverse_events_list", responses=AdverseEventOutput(many=True))
    def get(self, request, pk: int):
        subject, access = _subject_for(request, pk)
        page = self.paginate_queryset(_events(subject))
        return self.get_paginated_response(_output(page, subject, access, many=True))

    @extend_schema(
        operation_id="adverse_events_create",
        request=AdverseEventInput,
        responses={201: AdverseEventOutput},
    )
    def post(self, request, pk: int):
        subject, _access = _subject_for(request, pk)
        _require_entry(request, subject)
        values, _version, reason = _parse(request, partial=False)
        event = save_adverse_event(subject, actor=request.user, values=values, reason=reason)
        saved = _events(subject).get(pk=event.pk)
        return Response(_output(saved, subject, "identified"), status=status.HTTP_201_CREATED)


class AdverseEventDetailApi(GenericAPIView):
    """GET one adverse event; PATCH changes it with the ``version`` you read and a reason."""

    queryset = AdverseEvent.objects.none()
    serializer_class = AdverseEventOutput

    def _event(self, subject, ae_id: int) -> AdverseEvent:
        return get_object_or_404(_events(subject), pk=ae_id)

    @extend_schema(operation_id="adverse_events_retrieve", responses=AdverseEventOutput)
    def get(self, request, pk: int, ae_id: int):
        subject, access = _subject_for(request, pk)
        return Response(_output(self._event(subject, ae_id), subject, access))

    @extend_schema(
        operation_id="adverse_events_partial_update",
        request=AdverseEventInput,
        responses=AdverseEventOutput,
    )
    def patch(self, request, pk: int, ae_id: int):
        subject, _access = _subject_for(request, pk)
        _require_entry(request, subject)
        event = self._event(subject, ae_id)
        values, version, reason = _parse(request, partial=True)
        # The service re-reads the event under the subject's lock and compares the version.
        save_adverse_event(
            subject,
            actor=request.user,
            values=values,
            record=event,
            expected_version=version,
            reason=reason,
        )
        return Response(_output(self._event(subject, ae_id), subject, "identified"))


class GradeTextOutput(serializers.Serializer):
    grade = serializers.IntegerField()
    text = serializers.CharField()


class CTCAETermOutput(serializers.Serializer):
    id = serializers.IntegerField()
    term = serializers.CharField()
    soc = serializers.CharField()
    meddra_code = serializers.IntegerField(allow_null=True)
    code_to_verify = serializers.BooleanField()
    grading_scale = serializers.CharField()
    grading_scale_label = serializers.CharField()
    other_specify = serializers.BooleanField()
    max_grade = serializers.IntegerField()
    definition = serializers.CharField()
    grades = GradeTextOutput(many=True)


class CTCAETermSearchOutput(serializers.Serializer):
    results = CTCAETermOutput(many=True)


class CTCAETermListApi(GenericAPIView):
    """CTCAE terms matching ``q`` (term or SOC words), at most 25, with their grade texts."""

    queryset = CTCAETerm.objects.none()
    serializer_class = CTCAETermSearchOutput
    pagination_class = None  # a search answers its best matches, not pages

    @extend_schema(
        operation_id="ctcae_terms_list",
        parameters=[OpenApiParameter("q", str, description="Words of the term or its SOC.")],
        responses=CTCAETermSearchOutput,
    )
    def get(self, request):
        if not permissions.studies_for(request.user).exists():
            raise NotFound
        terms = selectors.search_terms(request.query_params.get("q", "")[:100])
        return Response({"results": [selectors.term_as_json(t) for t in terms]})
