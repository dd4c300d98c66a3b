"""The ``endpoints`` recompute hook (docs/architecture.md §5, §13.3): every registry endpoint of a
study per dose level and overall, recomputed by the worker after each save and stored as
``EndpointSnapshot`` rows stamped with the data version they came from.

It lives on the top floor because the endpoints are grouped by dose level and efficacy may not
import dosing (DESIGN §2): this module joins ``dosing.selectors.subject_dose_levels`` (1 query),
``efficacy.selectors.subject_efficacy`` (the CRF courses) and
``efficacy.selectors_samples.kinetics_points`` (the imported CAR-T levels, 1 query), then runs
the pure ``compute_endpoints``. The number of queries does not depend on the number of subjects:
the reads are fixed, and one upsert is written per (group, endpoint) pair.
"""

from __future__ import annotations

import dataclasses

from dosing.selectors import subject_dose_levels
from efficacy.endpoints import compute_endpoints, study_efficacy_settings
from efficacy.models import EndpointSnapshot
from efficacy.selectors import subject_efficacy
from efficacy.selectors_samples import kinetics_points
from trialsite.records.recompute import store_snapshot


def endpoints_hook(study, data_version: int) -> dict:
    """Recompute and store the study's endpoints from the data at ``data_version``.

    Rows are written only where the stored ones come from older data (``store_snapshot``); a
    group no longer present (its last subject moved to another level) is removed when its rows
    are older than this run. A course the rules refuse raises (the run records the error and
    the stored snapshots stay as they were).
    """
    levels = subject_dose_levels(study)
    subjects = subject_efficacy(study)
    points = kinetics_points(study)
    if points:
        subjects = {
            pk: dataclasses.replace(s, kinetics=tuple(points.get(pk, ())))
            for pk, s in subjects.items()
        }
    groups = {pk: level.label for pk, level in levels.items() if pk in subjects}
    values = compute_endpoints(list(subjects.values()), groups, study_efficacy_settings(study))
    stored = 0
    for (group, endpoint), value in values.items():
        stored += store_snapshot(
            EndpointSnapshot,
            key={"study": study, "group": group, "endpoint": endpoint},
            data_version=data_version,
            values={"values": value},
        )
    computed_groups = sorted({group for group, _ in values})
    removed, _ = (
        EndpointSnapshot.objects.filter(study=study, data_version__lt=data_version)
        .exclude(group__in=computed_groups)
        .delete()
    )
    return {
        "subjects": len(subjects),
        "groups": computed_groups,
        "stored": stored,
        "removed": removed,
        "kinetics": sum(1 for pk in subjects if points.get(pk)),
    }
