"""``settings_for`` remembers its answer per function and settings: the same answer as checking
afresh, a new dict each call, bad settings still refused every time, and values of another type
(1 for True) never answered from the other's memo."""

from __future__ import annotations

import pytest

from efficacy.rules import event_free_survival, kaplan_meier, settings_for
from efficacy.rules.settings import _settings_for


def test_remembered_answers_equal_fresh_ones_and_are_new_dicts():
    settings = {"efs_definition": "eln2022", "censor_at_hsct": True, "km_ci": "log"}
    first = settings_for(event_free_survival, settings)
    assert first == _settings_for(event_free_survival, settings)
    first["censor_at_hsct"] = False
    again = settings_for(event_free_survival, settings)
    assert again["censor_at_hsct"] is True and again is not first
    assert settings_for(kaplan_meier, settings) == {"km_ci": "log"}


def test_bad_settings_are_refused_on_every_call():
    for _ in range(2):
        with pytest.raises(ValueError, match="efs_definition"):
            settings_for(event_free_survival, {"efs_definition": "nope"})


def test_a_value_of_another_type_is_checked_on_its_own():
    # True == 1 and hash(True) == hash(1): the memo keys on the type too, so 1 is refused.
    assert settings_for(event_free_survival, {"censor_at_hsct": True})["censor_at_hsct"] is True
    with pytest.raises(ValueError, match="censor_at_hsct must be one of False, True; got 1"):
        settings_for(event_free_survival, {"censor_at_hsct": 1})


def test_unhashable_settings_are_checked_without_the_memo():
    assert settings_for(kaplan_meier, {"km_ci": "linear", "other": [1, 2]}) == {"km_ci": "linear"}
