"""``dosing.selectors.subject_dose_levels``: the mapping the cross-app dashboards group by."""

from __future__ import annotations

import pytest

from dosing import selectors
from tests.dosing_data import assign, confirmed_subject, level, treated_subject

pytestmark = pytest.mark.django_db


def test_it_maps_assigned_subjects_to_their_level_and_infused_dose(
    study, site_a, coordinator_a, investigator_a, django_assert_num_queries
):
    treated, day0 = treated_subject(site_a, coordinator_a, investigator_a, number=1)
    waiting = confirmed_subject(site_a, coordinator_a, investigator_a)
    assign(waiting, coordinator_a, 1, cohort=2)
    confirmed_subject(site_a, coordinator_a, investigator_a)  # never assigned: absent

    with django_assert_num_queries(1):
        found = selectors.subject_dose_levels(study)

    assert set(found) == {treated.pk, waiting.pk}
    dl1 = level(study, 1)
    infused = found[treated.pk]
    assert (infused.level, infused.label, infused.dose_cells_per_kg) == (
        1,
        dl1.label,
        dl1.dose_cells_per_kg,
    )
    assert infused.infused_on == day0
    assert infused.infused_cells_per_kg == pytest.approx(dl1.dose_cells_per_kg, rel=0.01)
    assert found[waiting.pk].infused_on is None
    assert found[waiting.pk].infused_cells_per_kg is None
