"""Study membership pages: who holds which role at which site (study administrators only).

Every change goes through ``trialsite.studies.services`` and is kept in ``MembershipChange``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _

from trialsite.studies import permissions, services
from trialsite.studies.models import Membership, MembershipChange
from trialsite.studies.roles import Action, Role


class MembershipForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    site = forms.ModelChoiceField(
        label=_("Site"),
        queryset=None,
        required=False,
        empty_label=_("Every site of the study"),
        help_text=_("Leave empty for a study-wide role (monitor, data manager, sponsor)."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)

    def __init__(self, *args, study, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = study.sites.order_by("code")


class AddMemberForm(MembershipForm):
    user = forms.ModelChoiceField(label=_("Person"), queryset=None)
    field_order = ["user", "role", "site", "reason"]

    def __init__(self, *args, study, **kwargs):
        super().__init__(*args, study=study, **kwargs)
        self.fields["user"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("last_name", "username")
        )
        self.fields["user"].label_from_instance = lambda u: (
            f"{u.get_full_name()} ({u.get_username()})" if u.get_full_name() else u.get_username()
        )


def _study(request):
    study = request.study
    if not study:
        raise Http404("No study.")
    permissions.require(request.user, Action.MANAGE_STUDY, study=study)
    return study


def _apply_errors(form: forms.Form, exc: ValidationError) -> None:
    for name, errors in exc.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def members(request):
    """The study's memberships, a form to add one, and the latest changes."""
    study = _study(request)
    form = AddMemberForm(request.POST or None, study=study)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.grant_role(
                    user=data["user"],
                    study=study,
                    role=data["role"],
                    site=data["site"],
                    actor=request.user,
                    reason=data["reason"],
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("Role granted."))
                return redirect("study-members")
        status = 400
    rows = Membership.objects.filter(study=study).select_related("user", "site")
    changes = MembershipChange.objects.filter(study=study).select_related("member", "changed_by")
    return render(
        request,
        "studies/members.html",
        {
            "study": study,
            "form": form,
            "memberships": rows.order_by("-is_active", "role", "user__last_name"),
            "changes": changes[:50],
        },
        status=status,
    )


def member(request, pk: int):
    """One membership: change its role or site, or deactivate it (with a reason)."""
    study = _study(request)
    membership = get_object_or_404(
        Membership.objects.select_related("user", "site"), pk=pk, study=study
    )
    form = MembershipForm(
        request.POST or None,
        study=study,
        initial={"role": membership.role, "site": membership.site},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                if "deactivate" in request.POST:
                    services.deactivate_membership(
                        membership, actor=request.user, reason=data["reason"]
                    )
                    messages.success(request, _("Membership deactivated."))
                else:
                    services.change_membership(
                        membership,
                        actor=request.user,
                        role=data["role"],
                        site=data["site"],
                        reason=data["reason"],
                    )
                    messages.success(request, _("Membership changed."))
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                return redirect("study-members")
        status = 400
    return render(
        request,
        "studies/member.html",
        {
            "study": study,
            "membership": membership,
            "form": form,
            "changes": membership.changes.select_related("changed_by").order_by("-changed_at"),
        },
        status=status,
    )
