"""The efficacy demo: every response category, a relapse, an HSCT and two deaths each with its
grade 5 adverse event (no death query), entered through the services (audit chains intact)."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from efficacy.models import DiseaseEvent, ResponseAssessment
from efficacy.selectors import subject_efficacy
from safety.models import AdverseEvent
from trialsite.records.audit import verify_chains
from trialsite.records.models import DataQuery
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db


def test_seed_demo_covers_every_response_and_event():
    call_command("seed_demo")
    study = Study.objects.get()
    found = subject_efficacy(study)
    categories = {r.category for s in found.values() for r in s.responses}
    assert {"CR", "CRh", "CRi", "MLFS", "PR", "NR"} <= categories
    assert any(
        r.category == "CR" and r.mrd == "negative" for s in found.values() for r in s.responses
    )
    assert sum(1 for s in found.values() if s.course.relapse_date) >= 1
    assert sum(1 for s in found.values() if s.course.hsct_date) == 1
    deaths = DiseaseEvent.objects.filter(event_type="death")
    assert deaths.count() == 2
    for death in deaths:
        assert AdverseEvent.objects.filter(subject=death.subject, grade=5).exists()
    efficacy_types = ContentType.objects.filter(app_label="efficacy")
    assert not DataQuery.objects.filter(content_type__in=efficacy_types).exists()
    assert ResponseAssessment.objects.filter(decision="overridden").count() == 1
    assert list(verify_chains()) == []
