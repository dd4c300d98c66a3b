"""Safety demo data (``manage.py seed_demo``): each area seeds its own (AE: ``demo_ae``)."""

from safety import demo_ae


def seed(*, study, site, users, stdout) -> None:
    demo_ae.seed(study=study, site=site, users=users, stdout=stdout)
