"""Safety demo data (``manage.py seed_demo``); each area seeds its own (``demo_<area>``).

The order matters: the DLT demo gives three eligible subjects their Day 0 (the dosing demo,
which runs after, treats subjects of its own through the infusion CRF), the daily CRS/ICANS and
lab demos then follow the subjects that have a Day 0.
"""

from safety import demo_ae, demo_crs, demo_dlt, demo_labs, demo_sae


def seed(*, study, site, users, stdout) -> None:
    demo_ae.seed(study=study, site=site, users=users, stdout=stdout)
    demo_dlt.seed(study=study, site=site, users=users, stdout=stdout)
    demo_crs.seed(study=study, site=site, users=users, stdout=stdout)
    demo_labs.seed(study=study, site=site, users=users, stdout=stdout)
    demo_sae.seed(study=study, site=site, users=users, stdout=stdout)
    from safety import demo_transfusions  # after the labs: the cytopenic subject has counts

    demo_transfusions.seed(study=study, site=site, users=users, stdout=stdout)
