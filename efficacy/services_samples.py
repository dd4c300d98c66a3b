"""Writes of efficacy samples (kinetics, anti-CAR antibodies, RCL) and the RCL alerts.

Every write goes through ``trialsite.records.services`` (one transaction, audit, edit checks,
data version). The CSV import is the only writer today, with ``expected_version=UNREAD`` (an
import did not start from a version a person read; idempotence comes from the sample ID) and
the import as the reason for change.

A positive RCL test or a monoclonal insertion site opens an automatic data query (soft edit
checks on ``RCLTest``) and notifies the site's investigators in the application and by email
(the path SAE clocks use, ``trialsite.records.notifications``): the protocol's RCL procedure
must start without waiting for the next monitoring visit (FDA RCL guidance 2020).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from efficacy.models import Clonality, RCLResult, RCLTest
from enrollment.services import require_data_entry
from trialsite.records import notifications
from trialsite.records.models import ClinicalRecord
from trialsite.records.services import UNREAD, ExpectedVersion, create_record, update_record
from trialsite.studies.roles import Role
from trialsite.studies.selectors import site_staff

RCL_POSITIVE_NOTICE = _("Positive RCL test %(sample)s for subject %(subject)s: review it now.")
MONOCLONAL_NOTICE = _(
    "Monoclonal insertion site in sample %(sample)s of subject %(subject)s "
    "(dominant clone %(pct)s %%): review it now."
)
RESOLVED_BY_REVIEW = "RCL result reviewed"


def save_sample(
    model: type[ClinicalRecord],
    subject,
    *,
    actor,
    values: dict,
    record: ClinicalRecord | None = None,
    expected_version: ExpectedVersion = UNREAD,
    reason: str = "",
) -> ClinicalRecord:
    """Create or update one sample record of ``subject``; RCL alerts on a new finding."""
    before = _alerts(record) if isinstance(record, RCLTest) else set()
    if record is None:
        require_data_entry(subject)  # after withdrawal of consent nothing new is collected
        saved = create_record(
            model, actor=actor, study=subject.study, values={"subject": subject, **values},
            reason=reason,
        )  # fmt: skip
    else:
        saved = update_record(
            record, actor=actor, values=values, expected_version=expected_version, reason=reason
        )
    if isinstance(saved, RCLTest):
        for alert in sorted(_alerts(saved) - before):
            _notify(saved, subject, alert)
    return saved


def _alerts(record: RCLTest | None) -> set[str]:
    if record is None:
        return set()
    found = set()
    if record.result == RCLResult.POSITIVE:
        found.add("positive")
    if record.insertion_site == Clonality.MONOCLONAL:
        found.add("monoclonal")
    return found


def _notify(record: RCLTest, subject, alert: str) -> None:
    facts = {"sample": record.sample_id, "subject": str(subject)}
    if alert == "positive":
        text = RCL_POSITIVE_NOTICE % facts
    else:
        pct = record.dominant_clone_pct
        text = MONOCLONAL_NOTICE % {**facts, "pct": "—" if pct is None else f"{pct:f}"}
    notifications.notify(
        subject.study,
        site_staff(subject.site, [Role.INVESTIGATOR]),
        message=str(text),
        url=reverse("efficacy:rcl", args=[subject.pk]),
        target=record,
        resolved_when=f"{RESOLVED_BY_REVIEW} ({alert})",
        email=True,
    )
