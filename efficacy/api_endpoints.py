"""Efficacy endpoints API: the stored snapshots, read-only (issue #13 "API").

``GET /api/v1/studies/<id>/efficacy/endpoints/`` returns what the ``endpoints`` recompute hook
stored (``efficacy.selectors_endpoints.endpoint_snapshots``): every group's endpoints, the data
version they came from and the pairs still on an older version. Nothing is recomputed here.
Every study member may read it (sponsors included). Subject IDs and labels are shown only to
readers of every site's clinical data; everyone else (sponsors, site-bound staff) sees
"Subject n" — numbered in subject order across the study — and no internal IDs, so the
per-subject rows stay de-identified (they carry study days, never dates).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from efficacy.models import EndpointSnapshot
from efficacy.selectors_endpoints import endpoint_snapshots
from trialsite.studies import permissions
from trialsite.studies.roles import Action


def _subject_ids(value, found: set[int]) -> None:
    if isinstance(value, dict):
        if "subject_id" in value:
            found.add(value["subject_id"])
        for v in value.values():
            _subject_ids(v, found)
    elif isinstance(value, list):
        for v in value:
            _subject_ids(v, found)


def _pseudonymise(value, numbers: dict[int, int]):
    """The same structure with each subject row's ID dropped and its label "Subject n"."""
    if isinstance(value, dict):
        out = {k: _pseudonymise(v, numbers) for k, v in value.items() if k != "subject_id"}
        if "subject_id" in value:
            out["label"] = f"Subject {numbers[value['subject_id']]}"
        return out
    if isinstance(value, list):
        return [_pseudonymise(v, numbers) for v in value]
    return value


def deidentified(values: dict[tuple[str, str], dict]) -> dict[tuple[str, str], dict]:
    found: set[int] = set()
    for value in values.values():
        _subject_ids(value, found)
    numbers = {pk: n for n, pk in enumerate(sorted(found), 1)}
    return {key: _pseudonymise(value, numbers) for key, value in values.items()}


class EfficacyEndpointsApi(GenericAPIView):
    queryset = EndpointSnapshot.objects.none()  # for the schema

    @extend_schema(operation_id="efficacy_endpoints_retrieve", responses=OpenApiTypes.OBJECT)
    def get(self, request, study_id: int):
        study = get_object_or_404(permissions.studies_for(request.user), pk=study_id)
        permissions.require(request.user, Action.VIEW_DEIDENTIFIED, study=study)
        stored = endpoint_snapshots(study)
        values = stored.values
        identified = permissions.site_ids(request.user, Action.VIEW_CLINICAL, study=study) is None
        if not identified:
            values = deidentified(values)
        endpoints: dict[str, dict] = {group: {} for group in stored.groups}
        for (group, endpoint), value in sorted(values.items()):
            endpoints[group][endpoint] = value
        return Response(
            {
                "data_version": stored.data_version,
                "computed_at": stored.computed_at.isoformat() if stored.computed_at else None,
                "stale": [{"group": g, "endpoint": e} for g, e in stored.stale],
                "subject_ids_shown": identified,
                "groups": stored.groups,
                "endpoints": endpoints,
            }
        )
