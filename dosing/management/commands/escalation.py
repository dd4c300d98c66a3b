"""``manage.py escalation``: run the escalation engine on a shorthand history, without the web app.

For statisticians checking the engine (RULES.md §4): it prints the recommendation after each
subject and the final one. It uses only ``dosing.rules``; no database is touched.

    python manage.py escalation --levels 4 --atd-levels 2 "1N 2G 2NN"

With ``--oc`` it prints the design's operating characteristics instead (Storer 1989): for the
given true DLT probability at each level, the probability of each recommended dose and the
expected subjects and DLTs per level (``dosing.rules.operating_characteristics``).

    python manage.py escalation --levels 4 --atd-levels 2 --oc 0.05,0.1,0.25,0.4
"""

from __future__ import annotations

import argparse
from dataclasses import MISSING, asdict, fields

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dosing import rules

#: Option name of each EscalationDesign field whose flag differs from the field name.
OPTION_NAMES = {"num_levels": "--levels"}


def _option(name: str) -> str:
    return OPTION_NAMES.get(name, "--" + name.replace("_", "-"))


def _probabilities(text: str) -> list[float]:
    """ "0.05,0.1,0.25" -> [0.05, 0.1, 0.25] (ranges are checked by operating_characteristics)."""
    try:
        return [float(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected probabilities separated by commas, e.g. 0.05,0.1,0.25 (got {text!r})"
        ) from None


def _level(value: int | None) -> str:
    if value is None:
        return "-"
    return "DL-1" if value == 0 else f"DL{value}"


class Command(BaseCommand):
    help = (
        "Print the dose-escalation recommendation (ATD -> Korn 3+3, RULES.md section 4) for a "
        "history written in the shorthand '1NNN 2NNT 2P' (N no DLT, T DLT, G no DLT but a "
        "related grade-2 toxicity, P DLT window pending, X not evaluable), with the "
        "recommendation after each subject. Uses dosing.rules only; no database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "outcomes",
            nargs="*",
            help='Subjects in enrollment order, e.g. "1NNN 2NNT 2P" (one or more tokens).',
        )
        for f in fields(rules.EscalationDesign):
            flags = [_option(f.name)]
            if flags[0] != "--" + f.name.replace("_", "-"):
                flags.append("--" + f.name.replace("_", "-"))
            text = rules.SETTINGS_HELP[f.name].replace("%", "%%")
            choices = rules.SETTINGS_CHOICES.get(f.name)
            if f.default is MISSING:
                # Checked in handle(): call_command() passes required options by dest only.
                parser.add_argument(*flags, dest=f.name, type=int, default=None, help=text)
            elif isinstance(f.default, bool):
                parser.add_argument(
                    *flags,
                    dest=f.name,
                    action=argparse.BooleanOptionalAction,
                    default=f.default,
                    help=f"{text} Default: {f.default}.",
                )
            else:
                kind = type(f.default)
                extra = f" Choices: {', '.join(map(str, choices))}." if choices else ""
                parser.add_argument(
                    *flags,
                    dest=f.name,
                    type=kind,
                    choices=choices,
                    default=f.default,
                    help=f"{text} Default: {f.default}.{extra}",
                )
        parser.add_argument(
            "--lenient",
            action="store_true",
            help="Report protocol deviations instead of refusing the history (strict=False).",
        )
        oc = parser.add_argument_group(
            "operating characteristics",
            "Print how the design behaves if each subject at DLd has a DLT with probability p_d "
            "(Storer 1989) instead of running a history.",
        )
        oc.add_argument(
            "--oc",
            type=_probabilities,
            default=None,
            metavar="P1,P2,...",
            help="True DLT probability at each dose level DL1..DLn, e.g. 0.05,0.1,0.25,0.4.",
        )
        oc.add_argument(
            "--oc-grade2",
            type=_probabilities,
            default=None,
            metavar="G1,G2,...",
            help="Probability that a subject without a DLT has a related grade-2 toxicity, per "
            "level (it only matters for the ATD trigger). Default: 0 at every level.",
        )
        oc.add_argument(
            "--oc-method",
            choices=("exact", "simulation"),
            default="exact",
            help="exact = every trial path; simulation = seeded random trials. Default: exact.",
        )
        oc.add_argument(
            "--oc-trials", type=int, default=10_000, help="Simulated trials. Default: 10000."
        )
        oc.add_argument("--oc-seed", type=int, default=0, help="Simulation seed. Default: 0.")

    def handle(self, *args: object, **options: object) -> None:
        settings = {f.name: options[f.name] for f in fields(rules.EscalationDesign)}
        text = " ".join(options["outcomes"])  # type: ignore[arg-type]
        strict = not options["lenient"]
        if settings["num_levels"] is None:
            raise CommandError("--levels is required: the number of dose levels (num_levels).")
        if options["oc"] is not None:
            if text.strip():
                raise CommandError(
                    "--oc describes the design under assumed DLT probabilities: give it without "
                    "an outcome history."
                )
            self._operating_characteristics(settings, options)
            return
        try:
            design = rules.EscalationDesign(**settings)
            outcomes = rules.parse_outcomes(text)
            steps = rules.escalation_trace(design, outcomes, strict=strict)
            final = rules.recommend(design, outcomes, strict=strict)
            start = rules.recommend(design, [])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        out = self.stdout
        chosen = ", ".join(f"{k}={v}" for k, v in asdict(design).items())
        out.write(f"Design: {chosen}")
        out.write(f"Outcomes: {rules.format_outcomes(outcomes) or '(none)'}")
        out.write("")
        out.write(f"{'#':>3}  {'level':<5}  letter  {self._columns_header()}")
        out.write(f"{'0':>3}  {'-':<5}  {'-':<6}  {self._columns(start)}")
        for step in steps:
            out.write(
                f"{step.subject:>3}  {_level(step.dose_level):<5}  {step.letter:<6}  "
                f"{self._columns(step.recommendation)}"
            )
            if step.deviation:
                out.write(f"     DEVIATION: {step.deviation}")
        out.write("")
        out.write(
            f"Recommendation: {final.action} {_level(final.dose_level)} (code {final.code}, "
            f"phase {final.phase}, open slots {final.open_slots}, MTD {_level(final.mtd)})"
        )
        out.write(f"Reason: {final.reason}")
        out.write("Per level: " + "; ".join(self._tally(t) for t in final.levels))
        for deviation in final.deviations:
            out.write(f"Deviation: {deviation}")

    def _operating_characteristics(self, settings: dict, options: dict) -> None:
        try:
            design = rules.EscalationDesign(**settings)
            result = rules.operating_characteristics(
                design,
                options["oc"],
                p_related_grade2=options["oc_grade2"],
                method=options["oc_method"],
                n_trials=options["oc_trials"],
                seed=options["oc_seed"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        out = self.stdout
        out.write(f"Design: {', '.join(f'{k}={v}' for k, v in asdict(design).items())}")
        if result.method == "exact":
            out.write(f"Operating characteristics: exact, {result.paths} trial paths")
        else:
            out.write(
                f"Operating characteristics: simulation, {result.n_trials} trials, seed "
                f"{options['oc_seed']} (standard errors in brackets)"
            )
        se = result.standard_errors
        grade2 = options["oc_grade2"] or [0.0] * design.num_levels

        def cell(value: float, key: str, level: int | None, width: int, digits: int) -> str:
            text = f"{value:.{digits}f}"
            if se:
                text += f" ({se[key][level]:.{digits}f})"
            return f"{text:>{width}}"

        width = 16 if se else 9
        out.write("")
        out.write(
            f"{'level':<5}  {'P(DLT)':>6}  {'P(G2)':>5}  {'P(recommended)':>{width + 5}}  "
            f"{'E[subjects]':>{width + 2}}  {'E[DLTs]':>{width}}"
        )
        for level in range(1, design.num_levels + 1):
            out.write(
                f"{_level(level):<5}  {options['oc'][level - 1]:>6.3f}  {grade2[level - 1]:>5.2f}  "
                f"{cell(result.p_select[level], 'p_select', level, width + 5, 4)}  "
                f"{cell(result.expected_subjects[level], 'expected_subjects', level, width + 2, 3)}"
                f"  {cell(result.expected_dlts[level], 'expected_dlts', level, width, 3)}"
            )
        none = cell(result.p_select[None], "p_select", None, width + 5, 4)
        out.write(f"{'none':<5}  {'':>6}  {'':>5}  {none}")
        total = f"{result.expected_total_subjects:.3f}"
        if se:
            total += f" ({se['expected_total_subjects']:.3f})"
        out.write("")
        out.write(f"Expected subjects in total: {total}")

    @staticmethod
    def _columns_header() -> str:
        return f"{'action':<6}  {'code':<18}  {'dose':<5}  open  reason"

    @staticmethod
    def _columns(r: rules.Recommendation) -> str:
        return (
            f"{r.action:<6}  {r.code:<18}  {_level(r.dose_level):<5}  {r.open_slots:>4}  {r.reason}"
        )

    @staticmethod
    def _tally(t: rules.LevelTally) -> str:
        text = f"{_level(t.dose_level)} {t.dlts} DLT of {t.evaluable} evaluable"
        if t.pending:
            text += f", {t.pending} pending"
        if t.not_evaluable:
            text += f", {t.not_evaluable} not evaluable"
        if t.atd_subjects:
            text += f", {t.atd_subjects} ATD"
        if t.exceeds_mtd:
            text += ", exceeds MTD"
        return text
