"""The demo seed gives infused subjects realistic CRS (mostly grade 1-2, one grade 3 on a
vasopressor) and one ICANS grade 2, with their episodes kept as AEs."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from safety.models import AdverseEvent, AESource, CRSAssessment, CRSEpisode, ICANSEpisode

pytestmark = pytest.mark.django_db


def test_the_demo_has_crs_mostly_grade_1_2_one_grade_3_and_one_icans_grade_2():
    call_command("seed_demo")
    grades = sorted(CRSEpisode.objects.values_list("max_grade", flat=True))
    assert grades == [1, 1, 2, 3]
    grade3 = CRSEpisode.objects.get(max_grade=3)
    day = CRSAssessment.objects.get(subject=grade3.subject, grade=3)
    assert day.deciding == "hypotension_one_vasopressor"
    assert list(ICANSEpisode.objects.values_list("max_grade", flat=True)) == [2]
    assert AdverseEvent.objects.filter(source=AESource.CRS_EPISODE).count() == 4
    assert AdverseEvent.objects.filter(source=AESource.ICANS_EPISODE).count() == 1
    call_command("seed_demo")
    assert CRSEpisode.objects.count() == 4
