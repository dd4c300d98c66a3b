"""The units a CAR-T kinetics level may be reported in, and the factor to the method's unit.

Data, not rules. qPCR levels are stored as transgene copies/µg genomic DNA, flow levels as
CAR-T cells/µL (RULES.md §6.3 analytes); a lab that reports per ng of DNA, per mL or as
10^9/L is converted (1 µg = 1000 ng; 1 µL = 1 mm³ = 10⁻³ mL; 10^9/L = 1000/µL). Any other
unit is refused: a level in an unknown unit cannot be compared with the rest of the curve.
"""

from __future__ import annotations

from decimal import Decimal

QPCR_UNIT = "copies/µg gDNA"
FLOW_UNIT = "cells/µL"

UNITS: dict[str, tuple[str, dict[str, Decimal]]] = {
    "qpcr": (
        QPCR_UNIT,
        {
            "copies/uggdna": Decimal(1),
            "copies/ugdna": Decimal(1),
            "copies/ug": Decimal(1),
            "copies/nggdna": Decimal(1000),
            "copies/ngdna": Decimal(1000),
            "copies/ng": Decimal(1000),
        },
    ),
    "flow": (
        FLOW_UNIT,
        {
            "cells/ul": Decimal(1),
            "/ul": Decimal(1),
            "cells/mm3": Decimal(1),
            "/mm3": Decimal(1),
            "cells/ml": Decimal("0.001"),
            "/ml": Decimal("0.001"),
            "10^9/l": Decimal(1000),
            "x10^9/l": Decimal(1000),
            "10^6/l": Decimal("0.001"),
        },
    ),
}

ACCEPTED = {
    "qpcr": "copies/µg gDNA, copies/ng gDNA",
    "flow": "cells/µL, cells/mm3, cells/mL, 10^9/L, 10^6/L",
}


def _key(unit: str) -> str:
    return (
        (unit or "")
        .strip()
        .replace("\u00b5", "u")
        .replace("\u03bc", "u")
        .replace("×", "x")
        .replace(" ", "")
        .lower()
    )


def factor(method: str, unit: str) -> Decimal | None:
    """The factor turning a level in ``unit`` into the method's unit, or None if unknown."""
    entry = UNITS.get(method)
    if entry is None:
        return None
    return entry[1].get(_key(unit))


def stored_unit(method: str) -> str:
    return UNITS[method][0]
