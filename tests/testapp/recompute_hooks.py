"""A test-only recompute hook that stores a real snapshot (``VitalsSummary``) per site.

The worker-kill test (tests/integration/test_worker_recovery.py) runs it in real worker processes:
``TESTAPP_HOOK_SLEEP_SECONDS`` makes it slow enough to kill mid-run, and
``TESTAPP_HOOK_STARTED_FILE`` names a file it creates when it starts, so the test knows when.
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path

from django.db.models import Count, Sum

from tests.testapp.models import VitalSigns, VitalsSummary
from trialsite.records.recompute import store_snapshot


def vitals_by_site(study) -> dict[str, dict]:
    """The summary computed directly from the data: ``{site_code: {forms, total_weight_kg}}``."""
    rows = (
        VitalSigns.objects.filter(study=study)
        .values("site__code")
        .annotate(forms=Count("id"), total_weight_kg=Sum("weight_kg"))
        .order_by("site__code")
    )
    return {
        row["site__code"]: {"forms": row["forms"], "total_weight_kg": row["total_weight_kg"]}
        for row in rows
    }


def summarize_vitals(study, data_version: int) -> dict:
    started_file = os.environ.get("TESTAPP_HOOK_STARTED_FILE")
    if started_file:
        Path(started_file).write_text(str(data_version))
    time.sleep(float(os.environ.get("TESTAPP_HOOK_SLEEP_SECONDS", "0")))
    stored = 0
    for site_code, values in vitals_by_site(study).items():
        stored += store_snapshot(
            VitalsSummary,
            key={"study": study, "site_code": site_code},
            data_version=data_version,
            values={**values, "total_weight_kg": values["total_weight_kg"] or Decimal("0")},
        )
    return {"stored": stored}
