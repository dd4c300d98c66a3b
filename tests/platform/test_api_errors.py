"""The one API error handler maps service errors to 400 (field errors), 409 and 423."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tests.testapp.models import VitalSigns
from trialsite.api.exceptions import exception_handler
from trialsite.records import services
from trialsite.records.exceptions import RecordLocked, StaleVersion

pytestmark = pytest.mark.django_db


def test_a_stale_version_is_409_with_the_current_version(study, site_a, coordinator_a):
    record = services.create_record(
        VitalSigns,
        actor=coordinator_a,
        study=study,
        values={"site": site_a, "subject_label": "A", "weight_kg": Decimal("70")},
    )
    services.update_record(record, actor=coordinator_a, values={"note": "x"}, expected_version=1)
    with pytest.raises(StaleVersion) as excinfo:
        services.update_record(
            record, actor=coordinator_a, values={"note": "y"}, expected_version=1
        )

    response = exception_handler(excinfo.value, {})
    assert response.status_code == 409
    assert response.data["code"] == "stale_version"
    assert response.data["current_version"] == 2
    assert "reload to see their change" in response.data["detail"]


def test_a_locked_record_is_423():
    response = exception_handler(RecordLocked(), {})
    assert response.status_code == 423
    assert response.data["code"] == "record_locked"


def test_field_errors_are_400_keyed_by_field_with_codes():
    error = ValidationError({"weight_kg": ValidationError("Too low", code="min_value")})
    response = exception_handler(error, {})
    assert response.status_code == 400
    assert response.data == {"errors": {"weight_kg": ["Too low"]}, "codes": ["min_value"]}
