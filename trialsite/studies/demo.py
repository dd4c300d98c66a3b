"""The demo study NCT06880354 with one site and one user per role (``manage.py seed_demo``).

Everything is synthetic: no real person's name. Written through the services, so the demo data
has the same audit trail and settings history as real data. Idempotent.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from trialsite.studies import services
from trialsite.studies.models import Site, Study
from trialsite.studies.roles import Role

DEMO_PROTOCOL = "IIT2024059"
DEMO_SITE_CODE = "TJ"

# username -> (role, first name, last name, site-bound?)
DEMO_USERS = {
    "coordinator": (Role.COORDINATOR, "Demo", "Coordinator", True),
    "investigator": (Role.INVESTIGATOR, "Demo", "Investigator", True),
    "monitor": (Role.MONITOR, "Demo", "Monitor", False),
    "datamanager": (Role.DATA_MANAGER, "Demo", "Data Manager", False),
    "sponsor": (Role.SPONSOR, "Demo", "Sponsor", False),
    "admin": (Role.ADMIN, "Demo", "Administrator", False),
}


def seed_study() -> tuple[Study, Site]:
    study = Study.objects.filter(protocol_number=DEMO_PROTOCOL).first()
    if study is None:
        study = services.create_study(
            actor=None,
            protocol_number=DEMO_PROTOCOL,
            nct_id="NCT06880354",
            title=(
                "A Clinical Study to Evaluate the Safety and Efficacy of CLL1 and CD38 Dual-Target "
                "CAR-T Cell Injection in the Treatment of Relapsed or Refractory Acute Myeloid "
                "Leukemia"
            ),
            short_title="CLL1+CD38 CAR-T in r/r AML",
            phase=Study.Phase.PHASE1,
            design="Single-arm, open-label; accelerated titration (ATD) then 3+3 dose escalation",
            status=Study.Status.RECRUITING,
            # The registry: "the first phase adopting an ATD design and the second a 3+3 design";
            # the lowest two levels run as single-subject ATD cohorts (RULES.md §4.2).
            settings_document={"dosing": {"atd_levels": 2}},
        )
    site = study.sites.filter(code=DEMO_SITE_CODE).first()
    if site is None:
        site = services.add_site(
            study,
            code=DEMO_SITE_CODE,
            name="Institute of Hematology & Blood Diseases Hospital",
            city="Tianjin",
            country="China",
            time_zone="Asia/Shanghai",
        )
    return study, site


def seed_users(study: Study, site: Site, password: str) -> dict:
    User = get_user_model()
    users = {}
    for username, (role, first, last, site_bound) in DEMO_USERS.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, first_name=first, last_name=last)
            user.email = f"{username}@trialsite.invalid"
        user.set_password(password)
        # Study roles are not platform operators: no demo login is a Django superuser, and only
        # the data manager may open the (read-only, role-scoped) Django admin.
        user.is_staff = role == Role.DATA_MANAGER
        user.is_superuser = False
        user.save()
        services.grant_role(user=user, study=study, role=role, site=site if site_bound else None)
        users[username] = user
    return users
