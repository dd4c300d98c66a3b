"""``manage.py escalation``: the statisticians' check of the escalation engine (RULES.md §4).

The command uses dosing.rules only; these tests need Django settings but no database.
"""

from __future__ import annotations

import io
from dataclasses import fields

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dosing.rules import SETTINGS_CHOICES, SETTINGS_DEFAULTS, EscalationDesign


def run(*args: str, **options: object) -> str:
    out = io.StringIO()
    call_command("escalation", *args, stdout=out, **options)
    return out.getvalue()


def test_it_prints_the_trace_and_the_recommendation() -> None:
    text = run("--levels", "4", "--atd-levels", "2", "1N 2G 2NN")
    lines = text.splitlines()
    trace = [line for line in lines if line[:3].strip().isdigit()]
    assert [line.split()[:5] for line in trace] == [
        ["0", "-", "-", "enroll", "atd_escalate"],
        ["1", "DL1", "N", "enroll", "atd_escalate"],
        ["2", "DL2", "G", "enroll", "atd_triggered"],
        ["3", "DL2", "N", "enroll", "atd_triggered"],
        ["4", "DL2", "N", "enroll", "escalate"],
    ]
    assert trace[2].split()[5:7] == ["DL2", "2"]  # dose level, open slots
    assert "ending the ATD phase" in trace[2]
    assert "Recommendation: enroll DL3 (code escalate, phase 3+3, open slots 3, MTD -)" in lines
    assert (
        "Reason: 0 of 3 evaluable subjects at DL2 had a DLT: escalate to DL3 with a cohort of 3."
        in lines
    )


def test_it_accepts_settings_as_options_and_separate_tokens() -> None:
    text = run("1NNN", "2NNT", "2NNT", levels=3, mtd_max_dlt_of_6=2)
    assert "Recommendation: stop DL2 (code mtd_declared, phase 3+3, open slots 0, MTD DL2)" in text
    storer = run("--levels", "5", "--no-deescalate-to-six", "1NNN 2TTN")
    assert "Recommendation: stop DL1 (code mtd_declared" in storer


def test_it_shows_the_first_step_with_no_outcomes() -> None:
    text = run("--levels", "3")
    assert "Recommendation: enroll DL1 (code escalate, phase 3+3, open slots 3, MTD -)" in text


def test_it_turns_bad_input_into_a_command_error_with_the_rules_message() -> None:
    with pytest.raises(CommandError, match=r"'1NQN': letter 'Q' is not one of N, T, G, P, X"):
        run("--levels", "4", "1NQN")
    with pytest.raises(
        CommandError, match=r"atd_levels must be an integer from 0 to num_levels \(2\)"
    ):
        run("--levels", "2", "--atd-levels", "3")
    with pytest.raises(CommandError, match=r"Subject #4 \(N\) was enrolled at DL3"):
        run("--levels", "4", "1NNN 3NNN")
    with pytest.raises(CommandError, match=r"--levels is required"):
        run("1NNN")


def test_it_reports_deviations_when_lenient() -> None:
    text = run("--levels", "4", "--lenient", "1NNN 3NNN")
    assert "DEVIATION: Subject #4 (N) was enrolled at DL3" in text
    assert "Deviation: Subject #4 (N) was enrolled at DL3" in text


def test_it_lists_every_design_setting_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        call_command("escalation", "--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--levels" in help_text
    for f in fields(EscalationDesign):
        if f.name == "num_levels":
            continue
        flag = "--" + f.name.replace("_", "-")
        assert flag in help_text, flag
        assert f"Default: {SETTINGS_DEFAULTS[f.name]}." in help_text
    for name, choices in SETTINGS_CHOICES.items():
        assert f"Choices: {', '.join(map(str, choices))}." in help_text, name


# --- --oc: operating characteristics ------------------------------------------------------------


def _row(text: str, label: str) -> list[str]:
    return next(line.split() for line in text.splitlines() if line.split()[:1] == [label])


def test_oc_prints_the_probability_of_each_recommended_dose_and_expected_counts() -> None:
    """One level, p = 0.1: P(DL1) = 0.9^6 + 6 x 0.1 x 0.9^5 = 0.885735, E[subjects] = 5.916."""
    text = run("--levels", "1", "--oc", "0.1")
    assert "Operating characteristics: exact, 10 trial paths" in text
    assert _row(text, "DL1") == ["DL1", "0.100", "0.00", "0.8857", "5.916", "0.592"]
    assert _row(text, "none") == ["none", "0.1143"]
    assert "Expected subjects in total: 5.916" in text


def test_oc_takes_design_settings_grade_2_rates_and_a_seeded_simulation() -> None:
    text = run(
        "--levels", "4", "--atd-levels", "2", "--oc", "0.05, 0.1,0.25,0.4",
        "--oc-grade2", "0.2,0.3,0.3,0.3",
    )  # fmt: skip
    assert "atd_levels=2" in text
    assert _row(text, "DL3") == ["DL3", "0.250", "0.30", "0.3772", "4.824", "1.206"]
    sim = run(
        "--levels", "3", "--oc", "0,0,0", "--oc-method", "simulation", "--oc-trials", "20",
        "--oc-seed", "5",
    )  # fmt: skip
    assert "simulation, 20 trials, seed 5 (standard errors in brackets)" in sim
    row = "DL3 0.000 0.00 1.0000 (0.0000) 6.000 (0.000) 0.000 (0.000)"
    assert _row(sim, "DL3") == row.split()


def test_oc_refuses_bad_probabilities_and_a_history() -> None:
    with pytest.raises(CommandError, match=r"one probability per dose level DL1\.\.DL3"):
        run("--levels", "3", "--oc", "0.1,0.2")
    with pytest.raises(CommandError, match=r"at DL2 must be between 0 and 1"):
        run("--levels", "2", "--oc", "0.1,1.2")
    with pytest.raises(CommandError, match=r"expected probabilities separated by commas"):
        run("--levels", "2", "--oc", "0.1,high")
    with pytest.raises(CommandError, match=r"give it without an outcome history"):
        run("--levels", "2", "--oc", "0.1,0.2", "1NNN")
