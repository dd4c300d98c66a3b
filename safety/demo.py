"""Safety demo data (``manage.py seed_demo``); each area seeds its own (labs: demo_labs)."""

from safety import demo_labs


def seed(*, study, site, users, stdout) -> None:
    demo_labs.seed(study=study, site=site, users=users, stdout=stdout)
