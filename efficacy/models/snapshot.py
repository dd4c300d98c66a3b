"""The stored registry endpoints of a study: one row per dose-level group and endpoint.

A keyed snapshot (DESIGN.md §5; docs/architecture.md §13.3) written only by the ``endpoints``
recompute hook (``trialsite.dashboards.efficacy_hook``) through
``trialsite.records.recompute.store_snapshot``, so a run from older data never overwrites a newer
one. ``values`` is what ``efficacy.endpoints.compute_endpoints`` returned for the pair (plain
JSON: numbers, text, None; study days, not dates), and the dashboard and the API show only these
values, each with the data version it came from (issue #13 Requirement 3).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from trialsite.records.models import Snapshot


class EndpointSnapshot(Snapshot):
    """One endpoint (e.g. "os", "response_rates") of one group ("DL1", …, or "all")."""

    group = models.CharField(
        _("group"), max_length=20, help_text=_('A dose-level key such as "DL1", or "all".')
    )
    endpoint = models.CharField(_("endpoint"), max_length=32)
    values = models.JSONField(_("values"), default=dict)

    class Meta:
        ordering = ["study", "group", "endpoint"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "group", "endpoint"], name="endpoint_snapshot_per_group"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study_id} {self.group}/{self.endpoint} @ v{self.data_version}"
