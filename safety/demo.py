"""Safety demo data (``manage.py seed_demo``); each area seeds its own (``demo_<area>``)."""

from safety import demo_ae, demo_dlt, demo_labs


def seed(*, study, site, users, stdout) -> None:
    demo_ae.seed(study=study, site=site, users=users, stdout=stdout)
    demo_dlt.seed(study=study, site=site, users=users, stdout=stdout)
    demo_labs.seed(study=study, site=site, users=users, stdout=stdout)
