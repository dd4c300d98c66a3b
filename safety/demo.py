"""Safety demo data (``manage.py seed_demo``): each safety area seeds its own part."""

from __future__ import annotations


def seed(*, study, site, users, stdout) -> None:
    from safety import demo_crs

    demo_crs.seed(study=study, site=site, users=users, stdout=stdout)
