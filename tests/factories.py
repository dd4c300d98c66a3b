"""factory-boy factories that keep study, site and user consistent (docs/architecture.md §8)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from trialsite.studies import services
from trialsite.studies.models import Membership, Site, Study

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class StudyFactory(factory.django.DjangoModelFactory):
    """A study created through the service, so it has a complete settings document (v1)."""

    class Meta:
        model = Study

    protocol_number = factory.Sequence(lambda n: f"TS-{n:04d}")
    nct_id = factory.Sequence(lambda n: f"NCT{90000000 + n:08d}")
    title = "A phase I dose-escalation study of a CAR-T product"
    short_title = factory.Sequence(lambda n: f"Study {n}")
    phase = Study.Phase.PHASE1
    design = "ATD then 3+3"
    status = Study.Status.RECRUITING

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.create_study(actor=None, **kwargs)


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    study = factory.SubFactory(StudyFactory)
    code = factory.Sequence(lambda n: f"S{n}")
    name = factory.Sequence(lambda n: f"Hospital {n}")
    city = "Tianjin"
    country = "China"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    study = factory.LazyAttribute(lambda m: m.site.study if m.site else StudyFactory())
    site = None
    role = "coordinator"


def make_vitals(study, site, actor, **values):
    """A test-only CRF saved through the records core (``tests.testapp.VitalSigns``)."""
    from decimal import Decimal

    from tests.testapp.models import VitalSigns
    from trialsite.records import services

    return services.create_record(
        VitalSigns,
        actor=actor,
        study=study,
        values={"site": site, "subject_label": "TJ-S-0001", "weight_kg": Decimal("70.0"), **values},
    )
