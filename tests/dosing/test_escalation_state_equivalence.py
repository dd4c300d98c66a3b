"""The stored escalation state is the same with the linear engine as with the engine it replaced.

``dosing.escalation.compute_state`` now takes the recommendation and the trace's decisions from
one ``rules.escalation_history`` replay; before, it took them from ``rules.escalation_trace``
(whose last step is the recommendation). Data in the database (assignments and stored DLT
evaluations, on protocol and off it), the state's values computed both ways — the old way on
the frozen old engine (``tests/dosing/reference_engine.py``) — must be equal, key by key.
"""

from __future__ import annotations

import pytest

from dosing import escalation, rules
from dosing.rules import SubjectOutcome
from tests.dosing import reference_engine
from tests.dosing.escalation_data import seed_history
from tests.factories import MembershipFactory, SiteFactory, StudyFactory, UserFactory
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db

FIVE = [
    {"level": n, "label": f"DL{n}", "dose_cells_per_kg": dose}
    for n, dose in enumerate((0.5e6, 1e6, 3e6, 6e6, 10e6), 1)
]


def reference_history(design, outcomes, *, strict=True):
    """``compute_state``'s engine call as it was: the old engine's trace and its last step."""
    steps = reference_engine.escalation_trace(design, outcomes, strict=strict)
    if steps:
        return steps[-1].recommendation, steps
    return reference_engine.recommend(design, [], strict=strict), steps


def both_states(monkeypatch, document, history) -> tuple[dict, dict]:
    study = StudyFactory(settings_document=document)
    site = SiteFactory(study=study, code="TJ")
    coordinator = UserFactory()
    MembershipFactory(user=coordinator, study=study, site=site, role="coordinator")
    if history:
        seed_history(site, coordinator, history)
    study = Study.objects.get(pk=study.pk)
    rows = escalation.escalation_inputs(study)
    new = escalation.compute_state(study, rows)
    with monkeypatch.context() as patch:
        patch.setattr(rules, "escalation_history", reference_history)
        old = escalation.compute_state(study, rows)
    return new, old


#: DL1-DL3 in turn (the benchmark's shape), a DLT every 7th subject, some still pending.
OFF_PROTOCOL = [
    SubjectOutcome(1 + (i % 3), dlt=None if i % 11 == 5 else i % 7 == 0) for i in range(30)
]


@pytest.mark.parametrize(
    ("document", "history"),
    [
        ({"dose_levels": FIVE, "dosing": {"atd_levels": 0}}, ""),
        ({"dose_levels": FIVE, "dosing": {"atd_levels": 0}}, "1NNN 2NNT 2NNN 3NNN 4NTT 3NNP"),
        ({"dose_levels": FIVE[:4], "dosing": {"atd_levels": 2}}, "1N 2G 2NN 3NNX 3T"),
        (
            {"dose_levels": FIVE[:4], "dosing": {"atd_levels": 2, "mtd_max_dlt_of_6": 2}},
            OFF_PROTOCOL,
        ),
        (
            {"dose_levels": FIVE[:3], "dosing": {"atd_levels": 0, "replace_non_evaluable": False}},
            "1NXN 3TNP 2XXT 1P",
        ),
    ],
    ids=["no-subject", "plain-3+3", "atd-trigger", "off-protocol", "kept-non-evaluable"],
)
def test_the_state_equals_the_old_engines(monkeypatch, document, history):
    new, old = both_states(monkeypatch, document, history)
    assert not new["error"]
    assert new.keys() == old.keys()
    for key in new:
        assert new[key] == old[key], key
    if history == OFF_PROTOCOL:
        assert new["deviations"] and any(step["deviation"] for step in new["trace"])
