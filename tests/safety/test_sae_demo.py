"""The demo seeds one SAE with its clocks: the initial report met, the follow-up running."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from safety import demo_sae
from safety.models import ClockKind, SAEReport
from safety.sae_selectors import clock_states
from trialsite.records.audit import verify_chains

pytestmark = pytest.mark.django_db


def test_the_demo_has_one_sae_with_a_met_and_a_running_clock():
    call_command("seed_demo", stdout=StringIO())
    report = SAEReport.objects.get(clocks__reference=demo_sae.REFERENCE)
    assert report.event.serious
    states = {s.clock.kind: s.status for s in clock_states(report)}
    assert states[ClockKind.INITIAL] == "met"
    assert states[ClockKind.FOLLOW_UP] == "running"
    assert list(verify_chains()) == []
    count = SAEReport.objects.count()
    call_command("seed_demo", stdout=StringIO())
    assert SAEReport.objects.count() == count
