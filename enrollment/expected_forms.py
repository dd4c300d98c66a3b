"""Which forms are expected at which visit: the registry the expectation rows are written from.

Apps register their CRFs in ``AppConfig.ready()`` (``register(ExpectedForm(...))``): enrollment
its screening CRFs at the screening visit; safety, dosing and efficacy theirs at the post-infusion
visits. ``applies(subject)`` says whether the form is required for that subject (the pregnancy
form is not required for men). The visits themselves and their windows are study settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ExpectedForm:
    code: str
    label: str
    visit_codes: tuple[str, ...]
    applies: Callable[[object], bool] = lambda subject: True
    order: int = 100


_FORMS: dict[str, ExpectedForm] = {}


def register(form: ExpectedForm) -> None:
    _FORMS[form.code] = form


def forms_for_visit(visit_code: str) -> list[ExpectedForm]:
    return sorted(
        (f for f in _FORMS.values() if visit_code in f.visit_codes), key=lambda f: (f.order, f.code)
    )


def get(code: str) -> ExpectedForm | None:
    return _FORMS.get(code)
