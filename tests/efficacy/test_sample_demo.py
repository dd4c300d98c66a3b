"""The demo seed gives every infused subject a kinetics curve, anti-CAR results and cytokines."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from efficacy import selectors_samples
from efficacy.models import AntiCARAntibody, KineticsSample, SampleImport
from enrollment.models import Subject
from safety.models import LabResult

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_kinetics_for_every_infused_subject_once():
    call_command("seed_demo")
    infused = list(Subject.objects.filter(day0__isnull=False))
    assert infused
    points = selectors_samples.kinetics_points(infused[0].study)
    for subject in infused:
        samples = selectors_samples.kinetics_of(subject)
        qpcr = [s for s in samples if s.method == "qpcr" and s.compartment == "blood"]
        summary = {
            (k.method, k.compartment): k
            for k in selectors_samples.kinetics_summary(subject, samples)
        }
        assert qpcr and subject.pk in points
        blood = summary[("qpcr", "blood")]
        if len(qpcr) >= 4:  # followed past Day 10: the peak is between Day 7 and Day 14
            assert 7 <= blood.tmax <= 14
    assert AntiCARAntibody.objects.filter(timepoint="BL").count() == len(infused)
    assert LabResult.objects.filter(test_code="IFNG").exists()
    assert SampleImport.objects.filter(kind="kinetics").count() == 1
    count = KineticsSample.objects.count()
    call_command("seed_demo")
    assert KineticsSample.objects.count() == count
