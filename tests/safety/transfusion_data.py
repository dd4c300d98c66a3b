"""Transfusions for safety tests, entered through the service."""

from __future__ import annotations

import datetime as dt

from safety.services import save_transfusion


def transfuse(subject, actor, day: int, product: str = "platelets", units: int = 1, **values):
    """Record ``units`` of ``product`` given on study ``day`` of the subject."""
    return save_transfusion(
        subject,
        actor=actor,
        values={
            "transfusion_date": subject.day0 + dt.timedelta(days=day),
            "product": product,
            "units": units,
            "reason": values.pop("reason", "count below the transfusion threshold"),
            **values,
        },
    )
