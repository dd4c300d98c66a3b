"""Demo transfusions (``manage.py seed_demo``): the most cytopenic demo subject of the lab demo
(``safety.demo_labs``: platelets 21 and 19 ×10⁹/L, haemoglobin 8.2 g/dL on Days 7 and 10) gets
platelets on Days 7 and 10 and red cells on Day 7, through the transfusion service, so the
timeline shows them and the counts of Days 7–14 are flagged as transfused for count recovery
(the Day 21 count, outside the 7 days, still decides). Idempotent.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from enrollment.models import Subject
from safety.models import LabPanel, Transfusion
from safety.services import save_transfusion

#: (study day, product, units, reason)
GIVEN = (
    (7, "platelets", 1, "Platelets 21 ×10⁹/L with mucosal bleeding"),
    (7, "red_cells", 2, "Haemoglobin 8.2 g/dL, symptomatic"),
    (10, "platelets", 1, "Platelets 19 ×10⁹/L, prophylaxis below 20"),
)


def seed(*, study, site, users, stdout) -> None:
    if Transfusion.objects.filter(study=study).exists():
        return
    with_labs = LabPanel.objects.filter(study=study, subject__site=site).values("subject_id")
    subject = (
        Subject.objects.filter(pk__in=with_labs, day0__isnull=False).order_by("day0", "pk").first()
    )
    if subject is None:
        return
    today = timezone.localdate()
    count = 0
    for day, product, units, reason in GIVEN:
        given_on = subject.day0 + dt.timedelta(days=day)
        if given_on > today:
            break
        save_transfusion(
            subject,
            actor=users["coordinator"],
            values={
                "transfusion_date": given_on,
                "product": product,
                "units": units,
                "reason": reason,
            },
        )
        count += 1
    stdout.write(f"Demo transfusions: {count} for {subject.screening_number}")
