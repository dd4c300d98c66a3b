"""The Django admin names every clinical table in plain English (issue 10 §16).

Before: Django's default plural added an "s" to the verbose name, so the data manager's admin
read "Screening labss", "Virologys", "Medical conditionss".
"""

from __future__ import annotations

from django.contrib import admin


def test_no_admin_table_name_is_a_broken_plural():
    plurals = {
        model._meta.label: str(model._meta.verbose_name_plural) for model in admin.site._registry
    }
    broken = {label: plural for label, plural in plurals.items() if plural.endswith(("ss", "ys"))}
    assert broken == {}
    assert plurals["enrollment.ScreeningLabs"] == "screening labs"
    assert plurals["enrollment.Virology"] == "virology results"
    assert plurals["enrollment.MedicationHistory"] == "medication histories"
