"""The suspect product on the SAE print (CIOMS-I box 15): the infused dose, from the top floor.

The dose is recorded on dosing's infusion CRF, and safety may not import dosing (DESIGN §2).
So safety asks a **provider** the top floor registers at start-up
(``trialsite.dashboards.apps`` → ``trialsite.dashboards.sae_product``): a function subject →
``SuspectProduct`` (dose level, infused cells/kg, infusion date), or None before the infusion.
Without a provider (safety alone, as in its own tests) the print says the dose is on the
infusion CRF, as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

PRODUCT_NAME = "CLL1+CD38 CAR-T"


@dataclass(frozen=True)
class SuspectProduct:
    """What was infused: the dose level's label, the dose given (cells/kg) and Day 0."""

    dose_level: str
    cells_per_kg: float | None
    infused_on: dt.date | None

    @property
    def dose_text(self) -> str:
        """``x.x ×10⁶ cells/kg`` (two decimals when one would round the dose)."""
        if self.cells_per_kg is None:
            return ""
        millions = self.cells_per_kg / 1e6
        shown = f"{millions:.1f}" if round(millions, 1) == round(millions, 2) else f"{millions:.2f}"
        return f"{shown} ×10⁶ cells/kg"

    def sentence(self) -> str:
        """The print's line, e.g. CLL1+CD38 CAR-T, DL2, 1.0 ×10⁶ cells/kg on 2026-03-02 (Day 0)."""
        parts = [PRODUCT_NAME, self.dose_level]
        if self.dose_text:
            parts.append(self.dose_text)
        text = ", ".join(parts)
        if self.infused_on:
            text += f" on {self.infused_on.isoformat()} (Day 0)"
        return text


Provider = Callable[[object], SuspectProduct | None]
_provider: Provider | None = None


def register_provider(provider: Provider) -> None:
    """Called once by the top floor's ``AppConfig.ready()``."""
    global _provider
    _provider = provider


def suspect_product(subject) -> SuspectProduct | None:
    """The subject's infused product, or None (no provider, or not assigned/infused)."""
    return _provider(subject) if _provider is not None else None
