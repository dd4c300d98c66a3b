"""Study membership is managed on a page by study administrators, with audit (issue 10 §17).

Before: memberships could only be changed in the Django admin, which the study administrator
cannot reach, and no change was recorded.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import UserFactory
from trialsite.studies import permissions, services
from trialsite.studies.models import Membership, MembershipChange
from trialsite.studies.roles import Action

pytestmark = pytest.mark.django_db


def test_the_administrator_grants_a_role_at_a_site_and_it_is_recorded(
    client, study, site_a, study_admin
):
    newcomer = UserFactory(username="newcomer")
    client.force_login(study_admin)
    response = client.post(
        reverse("study-members"),
        {"user": newcomer.pk, "role": "coordinator", "site": site_a.pk, "reason": "New hire"},
    )
    assert response.status_code == 302
    assert permissions.can(newcomer, Action.ENTER_DATA, study=study, site=site_a)
    change = MembershipChange.objects.get(member=newcomer)
    assert change.kind == "granted" and change.changed_by == study_admin
    assert change.after == {"role": "coordinator", "site": "TJ", "is_active": True}
    page = client.get(reverse("study-members")).content.decode()
    assert "New hire" in page and newcomer.get_full_name() in page


def test_the_administrator_moves_a_member_to_another_site_with_a_reason(
    client, study, site_a, site_b, coordinator_a, study_admin
):
    membership = Membership.objects.get(user=coordinator_a)
    client.force_login(study_admin)
    url = reverse("study-member", args=[membership.pk])
    missing = client.post(url, {"role": "coordinator", "site": site_b.pk, "reason": ""})
    assert missing.status_code == 400
    assert "Give a reason" in missing.content.decode()

    response = client.post(url, {"role": "coordinator", "site": site_b.pk, "reason": "Moved"})

    assert response.status_code == 302
    coordinator_a.__dict__.pop("_trialsite_memberships", None)
    assert permissions.can(coordinator_a, Action.ENTER_DATA, study=study, site=site_b)
    assert not permissions.can(coordinator_a, Action.ENTER_DATA, study=study, site=site_a)
    change = MembershipChange.objects.get(kind="changed")
    assert (change.before["site"], change.after["site"], change.reason) == ("TJ", "BJ", "Moved")


def test_the_administrator_deactivates_a_member(client, study, site_a, coordinator_a, study_admin):
    membership = Membership.objects.get(user=coordinator_a)
    client.force_login(study_admin)
    response = client.post(
        reverse("study-member", args=[membership.pk]),
        {"role": "coordinator", "site": site_a.pk, "reason": "Left", "deactivate": "1"},
    )
    assert response.status_code == 302
    coordinator_a.__dict__.pop("_trialsite_memberships", None)
    assert not permissions.can(coordinator_a, Action.VIEW_CLINICAL, study=study, site=site_a)
    assert MembershipChange.objects.get(kind="deactivated").before["is_active"] is True


def test_a_duplicate_role_is_a_field_error(study, site_a, coordinator_a, study_admin):
    services.grant_role(user=coordinator_a, study=study, role="investigator", site=site_a)
    investigator = Membership.objects.get(user=coordinator_a, role="investigator")
    with pytest.raises(ValidationError) as error:
        services.change_membership(
            investigator, actor=study_admin, role="coordinator", site=site_a, reason="x"
        )
    assert "role" in error.value.error_dict


def test_only_the_study_administrator_manages_members(
    client, site_a, coordinator_a, data_manager, investigator_a
):
    membership = Membership.objects.get(user=coordinator_a)
    for user in (coordinator_a, data_manager, investigator_a):
        client.force_login(user)
        assert client.get(reverse("study-members")).status_code == 403
        response = client.post(
            reverse("study-member", args=[membership.pk]),
            {"role": "investigator", "site": site_a.pk, "reason": "promote myself"},
        )
        assert response.status_code == 403
    assert Membership.objects.get(pk=membership.pk).role == "coordinator"


def test_the_members_page_takes_a_fixed_number_of_queries(
    client, study, site_a, site_b, study_admin, django_assert_num_queries
):
    client.force_login(study_admin)
    client.get(reverse("study-members"))
    for _round in range(2):
        for role in ("coordinator", "investigator"):
            services.grant_role(user=UserFactory(), study=study, role=role, site=site_b)
        # session, user, current study, own memberships, switcher studies, memberships, changes,
        # the person and site pickers, and the session save (savepoint, update, release)
        with django_assert_num_queries(12):
            assert client.get(reverse("study-members")).status_code == 200
