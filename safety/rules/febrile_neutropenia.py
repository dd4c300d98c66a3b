"""CTCAE v5.0 "Febrile neutropenia" grade 3 from ANC and temperature.

Source: NCI CTCAE v5.0, Blood and lymphatic system disorders.
"""

from __future__ import annotations

from decimal import Decimal

from safety.rules._values import _decimal
from safety.rules.crs import _FEVER_C, _TEMPERATURE_RANGE_C

# ---------------------------------------------------------------------------------------------
# Febrile neutropenia (RULES.md §3.2)
# ---------------------------------------------------------------------------------------------

_FN_ANC_BELOW = Decimal("1.0")
_FN_SINGLE_ABOVE_C = Decimal("38.3")
_FN_SUSTAINED_MINUTES_ABOVE = Decimal("60")


def febrile_neutropenia_grade(
    *,
    anc_10e9_l: float | None,
    max_temperature_c: float | None,
    minutes_at_or_above_38: float | None = None,
) -> int | None:
    """CTCAE v5.0 "Febrile neutropenia" from labs and vitals: 3, or 0 (not febrile neutropenia).

    Why: febrile neutropenia is expected after CAR-T and must be told apart from CRS fever.
    Source: NCI CTCAE v5.0, Blood and lymphatic system disorders, "Febrile neutropenia" grade 3:
    ANC < 1.0 x10^9/L with a single temperature > 38.3 degC or a sustained temperature
    >= 38 degC for more than one hour (RULES.md §3.2). Grades 4 (life-threatening, urgent
    intervention) and 5 (death) need investigator input and are never returned.

    ``minutes_at_or_above_38``: how long the temperature stayed >= 38.0 degC; ``None`` means a
    single reading with no documented duration, which does not meet the "sustained" criterion
    (CASES.md F: ANC 0.8 with a single 38.1 degC is not febrile neutropenia). Returns ``None``
    only when the unknown value could change the answer (ANC unknown with qualifying fever, or
    temperature unknown with ANC < 1.0).
    """
    anc = _decimal(anc_10e9_l, "anc_10e9_l", minimum=0, allow_none=True)
    temp = _decimal(max_temperature_c, "max_temperature_c", allow_none=True)
    if temp is not None and not (_TEMPERATURE_RANGE_C[0] <= temp <= _TEMPERATURE_RANGE_C[1]):
        raise ValueError(
            f"max_temperature_c must be between {_TEMPERATURE_RANGE_C[0]} and "
            f"{_TEMPERATURE_RANGE_C[1]} degC; got {max_temperature_c!r}"
        )
    minutes = _decimal(minutes_at_or_above_38, "minutes_at_or_above_38", minimum=0, allow_none=True)
    if temp is None:
        fever = None
    else:
        sustained = (
            minutes is not None and minutes > _FN_SUSTAINED_MINUTES_ABOVE and temp >= _FEVER_C
        )
        fever = temp > _FN_SINGLE_ABOVE_C or sustained
    neutropenia = None if anc is None else anc < _FN_ANC_BELOW
    if fever is False or neutropenia is False:
        return 0
    if fever and neutropenia:
        return 3
    return None
