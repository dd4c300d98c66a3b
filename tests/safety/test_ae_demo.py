"""The demo seeds realistic AEs on consented subjects, once, through the service."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from enrollment.models import Consent
from safety.models import AdverseEvent, AESource

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_a_few_realistic_adverse_events_once():
    call_command("seed_demo")
    # The AE demo's own events (the DLT demo adds an ALT increase, CRS/ICANS their episodes,
    # the efficacy demo the grade 5 sepsis of its two deaths).
    entered = AdverseEvent.objects.filter(source=AESource.MANUAL).exclude(
        term__term__in=("Alanine aminotransferase increased", "Sepsis")
    )
    events = entered.select_related("term", "subject")
    assert events.count() == 5
    assert {e.term.term for e in events} >= {"Fever", "Nausea", "Lung infection"}
    assert all(Consent.objects.filter(subject=e.subject).exists() for e in events)
    fever = events.get(term__term="Fever")
    assert list(fever.grade_steps.values_list("grade", flat=True)) == [1, 2]
    assert events.get(term__term="Lung infection").serious
    call_command("seed_demo")
    assert entered.count() == 5
