"""Efficacy demo data (``manage.py seed_demo``); each area seeds its own (``demo_<area>``)."""

from efficacy import demo_samples


def seed(*, study, site, users, stdout) -> None:
    demo_samples.seed(study=study, site=site, users=users, stdout=stdout)
