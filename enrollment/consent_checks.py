"""Hard edit checks of the consent: an approved ICF version, signed on or after its approval.

Declared on ``Consent.edit_checks`` so the service refuses with a field error from the same
transaction as the plausibility checks (forms, API and imports alike; issue 10 item 5). The
approved versions are the study setting ``approved_icf_versions``
(``consent_rules.validate_approved_icf_versions``).
"""

from __future__ import annotations

from enrollment import consent_rules
from enrollment.plausibility import EARLIEST_DATE, calendar_date
from trialsite.records.edit_checks import hard


def approved_versions(study) -> list[dict]:
    default = consent_rules.DEFAULT_APPROVED_ICF_VERSIONS
    return study.settings.get("approved_icf_versions") or default


def icf_version_approved(consent) -> dict:
    signed_on = calendar_date(consent.signed_at) if consent.signed_at else None
    if signed_on is not None and signed_on < EARLIEST_DATE:
        signed_on = None  # "before 1900" is the plausibility check's message
    versions = approved_versions(consent.subject.study)
    not_approved = consent_rules.icf_version_problem(consent.icf_version or "", None, versions)
    if not_approved:
        return {"icf_version": not_approved}
    too_early = consent_rules.icf_version_problem(consent.icf_version, signed_on, versions)
    return {"signed_at": too_early} if too_early else {}


CONSENT_CHECKS = (hard("ICF-APPROVED", "", icf_version_approved),)
