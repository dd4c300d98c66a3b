"""Two dose levels of infused subjects with their safety data, entered through the services.

``safety_world`` treats three subjects at site A (two at DL1, one at DL2; Day 0 is the same day
for all, ``tests.dosing_data.treated_subject``) and, with the clock on Day 10, records:

* DL1 subject 1: CRS grade 1 on Day 1, grade 2 on Day 2 (fever, hypotension with a fluid
  bolus) with tocilizumab, closed as resolved by the investigator on Day 3; nausea grade 1
  on Day 5; ANC 0.3 on Day 7 (grade 4 neutrophil count decreased).
* DL1 subject 2: nausea grade 2 on Day 2, worse (grade 3) on Day 4, resolved on Day 6, and a
  second nausea grade 1 from Day 8 (ongoing); platelets 40 on Day 7 (grade 3).
* DL2 subject: CRS grade 1 on Day 2, resolved on Day 4; ICANS grade 1 on Day 3 (ICE 8); one
  dexamethasone dose on Day 3, written on both the CRS and the ICANS form; ICANS resolved on
  Day 4; a related grade 4 ALT increase on Day 6 (a DLT candidate)
  and a serious grade 3 febrile neutropenia on Day 5, entered that day (its 24-hour clock is
  overdue by Day 10).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from safety.services import save_adverse_event
from tests.dosing_data import treated_subject
from tests.safety.ae_data import term
from tests.safety.crs_data import add_crs, add_icans
from tests.safety.dlt_data import add_event, regrade
from tests.safety.lab_data import panel
from tests.safety.sae_data import serious_values
from trialsite import clock

TODAY_DAY = 10


def on_day(subject, day: int) -> dt.date:
    return subject.day0 + dt.timedelta(days=day)


def safety_world(site, coordinator, investigator) -> dict:
    dl1_a, day0 = treated_subject(site, coordinator, investigator, number=1, cohort=1)
    dl1_b, _ = treated_subject(site, coordinator, investigator, number=1, cohort=1)
    dl2, _ = treated_subject(site, coordinator, investigator, number=2, cohort=1)
    with clock.freeze(on_day(dl2, 5)):
        sae = save_adverse_event(
            dl2, actor=coordinator, values=serious_values(dl2, onset_date=on_day(dl2, 5))
        )
    with clock.freeze(day0 + dt.timedelta(days=TODAY_DAY)):
        add_crs(dl1_a, coordinator, 1, "38.5")
        add_crs(
            dl1_a,
            coordinator,
            2,
            "39.2",
            hypotension=True,
            fluid_bolus=True,
            tocilizumab_given=True,
            tocilizumab_dose_mg=Decimal("560"),
        )
        add_crs(dl1_a, coordinator, 3, "36.8", episode_resolved=True)
        add_event(dl1_a, coordinator, grade=1, onset_day=5, name="Nausea", relatedness="unlikely")
        panel(dl1_a, coordinator, 7, ("ANC", "0.3", "10^9/L"))

        nausea = add_event(
            dl1_b, coordinator, grade=2, onset_day=2, name="Nausea", relatedness="unlikely"
        )
        regrade(dl1_b, coordinator, nausea, grade=3, on_day=4)
        nausea.refresh_from_db()
        save_adverse_event(
            dl1_b,
            actor=coordinator,
            values={
                "ongoing": False,
                "resolution_date": on_day(dl1_b, 6),
                "outcome": "recovered",
            },
            record=nausea,
            expected_version=nausea.version,
            reason="resolved",
        )
        add_event(dl1_b, coordinator, grade=1, onset_day=8, name="Nausea", relatedness="unlikely")
        panel(dl1_b, coordinator, 7, ("PLT", "40", "10^9/L"))

        steroid = {
            "corticosteroid_given": True,
            "corticosteroid_drug": "dexamethasone",
            "corticosteroid_dose_mg": Decimal("10"),
        }
        add_crs(dl2, coordinator, 2, "38.3")
        add_crs(dl2, coordinator, 3, "38.1", **steroid)  # the same dose on both forms of Day 3
        add_crs(dl2, coordinator, 4, "36.9", episode_resolved=True)
        add_icans(dl2, coordinator, 3, (3, 3, 1, 0, 1), **steroid)
        add_icans(dl2, coordinator, 4)
        alt = add_event(dl2, coordinator, grade=4, onset_day=6, relatedness="probable")
    return {
        "day0": day0,
        "today": day0 + dt.timedelta(days=TODAY_DAY),
        "dl1_a": dl1_a,
        "dl1_b": dl1_b,
        "dl2": dl2,
        "alt": alt,
        "sae": sae,
        "nausea_term": term("Nausea"),
    }
