"""Baseline values derived from screening data. Pure: no Django import."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def bsa_mosteller(height_cm: object, weight_kg: object) -> Decimal | None:
    """Body surface area in m², Mosteller: √(height cm × weight kg / 3600), to 2 decimals.

    Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317:1098.
    None unless both are positive numbers (a missing height gives no BSA, never a guess).
    """
    try:
        height, weight = Decimal(str(height_cm)), Decimal(str(weight_kg))
    except (ArithmeticError, ValueError, TypeError):
        return None
    if height_cm is None or weight_kg is None or not height > 0 or not weight > 0:
        return None
    return (height * weight / Decimal(3600)).sqrt().quantize(Decimal("0.01"), ROUND_HALF_UP)
