"""Two first saves of the same CRF at once, on PostgreSQL: one creates, the other is a conflict.

Before CRF platform v2 the API read the existing record before taking the subject's lock, so both
PUTs answered 201 and the later one silently overwrote the first.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client

from enrollment import services
from enrollment.models import ScreeningLabs
from tests.enrollment_data import register_and_consent
from trialsite.records.exceptions import StaleVersion
from trialsite.records.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test compares
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_first_saves_through_the_service(
    services_available, site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)

    def save(user, creatinine):
        return lambda: services.save_screening_crf(
            subject,
            ScreeningLabs,
            actor=user,
            values={"lab_date": subject.screening_date, "creatinine": Decimal(creatinine)},
        )

    outcomes = race(save(coordinator_a, "0.9"), save(investigator_a, "1.3"))
    saved = [o for o in outcomes if isinstance(o, ScreeningLabs)]
    refused = [o for o in outcomes if isinstance(o, StaleVersion)]
    assert len(saved) == 1 and len(refused) == 1, outcomes
    stored = ScreeningLabs.objects.get(subject=subject)
    assert (stored.creatinine, stored.version) == (saved[0].creatinine, 1)
    creates = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(ScreeningLabs),
        object_id=str(stored.pk),
        action="create",
    )
    assert creates.count() == 1


def test_two_first_puts_through_the_api(services_available, site_a, coordinator_a, investigator_a):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    url = f"/api/v1/subjects/{subject.pk}/screening/labs/"

    def put(user, creatinine):
        client = Client()
        client.force_login(user)
        body = {"lab_date": subject.screening_date.isoformat(), "creatinine": creatinine}
        return lambda: client.put(url, data=json.dumps(body), content_type="application/json")

    outcomes = race(put(coordinator_a, "0.9"), put(investigator_a, "1.3"))
    assert sorted(r.status_code for r in outcomes) == [201, 409]
    created = next(r for r in outcomes if r.status_code == 201).json()
    assert ScreeningLabs.objects.get(subject=subject).creatinine == Decimal(created["creatinine"])
