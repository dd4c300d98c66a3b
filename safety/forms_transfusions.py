"""The transfusion CRF: date, product, units and reason of one blood product given."""

from __future__ import annotations

from safety.models import Transfusion
from trialsite.records.forms import CRFForm


class TransfusionForm(CRFForm):
    class Meta:
        model = Transfusion
        fields = ["transfusion_date", "product", "units", "reason"]
