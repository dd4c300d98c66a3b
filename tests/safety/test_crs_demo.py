"""The demo seed gives infused subjects realistic CRS (mostly grade 1-2, one grade 3 on a
vasopressor) and one ICANS grade 2, with their episodes kept as AEs: the safety seeder's four
subjects, and the dosing seeder's eight treated ones (grade 1 fevers, one grade 2 CRS with an
ICANS grade 1 in DL3's DLT subject), so the safety dashboard has CRS at every dose level."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.management import call_command

from dosing.selectors import subject_dose_levels
from safety.models import AdverseEvent, AESource, CRSAssessment, CRSEpisode, ICANSEpisode
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db


def test_the_demo_has_crs_mostly_grade_1_2_one_grade_3_and_one_icans_grade_2():
    call_command("seed_demo")
    grades = sorted(CRSEpisode.objects.values_list("max_grade", flat=True))
    assert grades == [1] * 8 + [2, 2, 3]
    grade3 = CRSEpisode.objects.get(max_grade=3)
    day = CRSAssessment.objects.get(subject=grade3.subject, grade=3)
    assert day.deciding == "hypotension_one_vasopressor"
    assert sorted(ICANSEpisode.objects.values_list("max_grade", flat=True)) == [1, 2]
    assert AdverseEvent.objects.filter(source=AESource.CRS_EPISODE).count() == 11
    assert AdverseEvent.objects.filter(source=AESource.ICANS_EPISODE).count() == 2
    # The treated subjects' episodes, by dose level: every infused subject but DL2's ATD one.
    levels = subject_dose_levels(Study.objects.get())
    by_level = Counter(
        levels[e.subject_id].label for e in CRSEpisode.objects.all() if e.subject_id in levels
    )
    assert by_level == {"DL1": 1, "DL2": 2, "DL3": 4}
    call_command("seed_demo")
    assert CRSEpisode.objects.count() == 11
