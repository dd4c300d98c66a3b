"""Issue 10: the membership history and the settings history are append-only on PostgreSQL.

``MembershipChange`` (who held which role where, when) had no trigger, unlike the audit table:
anyone with a SQL console, or a stray ``QuerySet.update()``, could rewrite who could sign on a
given day. Both history tables now refuse UPDATE and DELETE in the database itself, and the
application role holds neither privilege (``db_privileges``; the shared tests in
``test_audit_tampering.py`` cover TRUNCATE and the role for every append-only table).
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from tests.factories import UserFactory
from trialsite.studies import services, study_settings
from trialsite.studies.models import MembershipChange, StudySettingsVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def histories(study, site_a, study_admin):
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL (DATABASE_URL=postgres://...).")
    services.grant_role(
        user=UserFactory(), study=study, role="coordinator", site=site_a, actor=study_admin,
        reason="New coordinator",
    )  # fmt: skip
    document = dict(study.settings) or study_settings.default_document()
    services.update_study_settings(
        study, actor=study_admin, document=document, expected_version=study.settings_version,
        reason="First version",
    )  # fmt: skip
    return study


def refused(queryset, **update):
    with pytest.raises(DatabaseError, match="is refused: audit records are append-only"):  # noqa: SIM117
        with transaction.atomic():
            if update:
                queryset.update(**update)
            else:
                queryset.delete()


@pytest.mark.parametrize("model", [MembershipChange, StudySettingsVersion])
def test_postgresql_refuses_to_update_or_delete_a_history_row(histories, model):
    rows = model.objects.filter(study=histories)
    assert rows.exists()
    before = list(rows.values_list("pk", "reason"))
    refused(rows, reason="forged")
    refused(rows)
    assert list(rows.values_list("pk", "reason")) == before


def test_the_membership_history_is_listed_as_append_only():
    from trialsite.records.db_privileges import append_only_tables

    assert "studies_membershipchange" in append_only_tables()
