"""Demo data of the safety app (``manage.py seed_demo``): each area seeds its own module."""

from __future__ import annotations

from safety import demo_sae


def seed(*, study, site, users, stdout) -> None:
    demo_sae.seed(study=study, site=site, users=users, stdout=stdout)
