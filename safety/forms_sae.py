"""SAE forms: the report's awareness and CIOMS-I fields, and a recorded submission of a clock.

Moments are typed as DD-MMM-YYYY HH:MM (``05-Mar-2026 14:30``, CDASH dates as on every CRF,
docs/architecture.md §11) or ISO ``2026-03-05 14:30``, in the study's display time zone.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from safety.models import SAEClock, SAEReport
from trialsite.records.dates import format_dmy, parse_date
from trialsite.records.forms import CRFForm

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
BAD_MOMENT = _("Type the date and time as DD-MMM-YYYY HH:MM, e.g. 05-Mar-2026 14:30.")


class MomentInput(forms.TextInput):
    def __init__(self, attrs=None):
        super().__init__(
            {"placeholder": "DD-MMM-YYYY HH:MM", "autocomplete": "off", **(attrs or {})}
        )

    def format_value(self, value):
        if isinstance(value, dt.datetime):
            local = timezone.localtime(value) if timezone.is_aware(value) else value
            return f"{format_dmy(local.date())} {local:%H:%M}"
        return super().format_value(value)


class MomentField(forms.DateTimeField):
    """A date and a time of day, typed as text (never a browser date-time picker)."""

    widget = MomentInput

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value
        parts = str(value).strip().replace("T", " ").split()
        if len(parts) != 2:
            raise ValidationError(BAD_MOMENT, code="invalid")
        day, time = parse_date(parts[0]), _TIME.match(parts[1])
        if day is None or time is None:
            raise ValidationError(BAD_MOMENT, code="invalid")
        hour, minute = int(time.group(1)), int(time.group(2))
        if hour > 23 or minute > 59:
            raise ValidationError(BAD_MOMENT, code="invalid")
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


class SAEReportForm(CRFForm):
    aware_at = MomentField(label=_("Site aware at"))

    class Meta(CRFForm.Meta):
        model = SAEReport
        fields = [
            "aware_at",
            "narrative",
            "relevant_tests",
            "concomitant_drugs",
            "relevant_history",
            "reporter",
        ]
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in ("narrative", "relevant_tests", "concomitant_drugs", "relevant_history")
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["aware_at"].help_text = SAEReport._meta.get_field("aware_at").help_text


class SubmissionForm(CRFForm):
    submitted_at = MomentField(label=_("Submitted at"))
    submit_label = _("Record the submission")

    class Meta(CRFForm.Meta):
        model = SAEClock
        fields = ["submitted_at", "reference"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reference"].required = True
        # A first recording of a draft clock needs no reason; a correction does (CRFForm).
