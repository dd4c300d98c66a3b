"""The efficacy dashboard's content for one group, laid out from the stored endpoint snapshots.

Every number here was computed by the ``endpoints`` recompute hook (``efficacy.endpoints``,
stored as ``EndpointSnapshot``; read by ``efficacy.selectors_endpoints.endpoint_snapshots``):
this module only formats them ("k/n (p %) [95 % CI lo–hi]"), puts them into charts
(``trialsite.charts``) and into the CSV tables served beside each chart. It computes no
statistic (issue #13 Requirement 3: "statistics from the rules module only"); the one lookup it
does is reading the stored survival curve at a censoring time to place its tick mark.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from efficacy.dashboard_charts import PointSeries, XYChart, axis
from trialsite.charts import GRADE_COLOURS, Chart, Series

#: The rates of RULES.md §1.7 in the order of the protocol's secondary outcomes.
RATES: tuple[tuple[str, str], ...] = (
    ("ORR", _("ORR (CR, CRh, CRi, MLFS, PR)")),
    ("CRR", _("CRR (CR + CRh + CRi)")),
    ("PRR", _("PRR")),
    ("CRhR", _("CRhR")),
    ("CRiR", _("CRiR")),
    ("MLFSR", _("MLFSR")),
    ("MRD_negative_rate", _("MRD-negative rate among CR/CRh/CRi")),
)

#: The time-to-event endpoints (RULES.md §1.6) with their titles.
TIME_TO_EVENT: tuple[tuple[str, str], ...] = (
    ("os", _("Overall survival")),
    ("efs", _("Event-free survival")),
    ("rfs", _("Relapse-free survival")),
    ("dor", _("Duration of response")),
)

#: Best-response categories in the ELN order, then "not assessed".
CATEGORIES: tuple[str, ...] = ("CR", "CRh", "CRi", "MLFS", "PR", "NR", "NE", "not_assessed")

#: The CSV tables a reader may download (one per chart or table on the page).
TABLES: tuple[str, ...] = (
    "rates",
    "best-response",
    "blast-decline",
    "waterfall",
    "os",
    "efs",
    "rfs",
    "dor",
    "swimmer",
    "kinetics",
    "kinetics-levels",
    "correlations",
    "correlation-points",
)

CORRELATIONS: tuple[tuple[str, str], ...] = (
    ("il6_vs_crs", _("Peak IL-6 vs worst CRS grade")),
    ("il6_vs_icans", _("Peak IL-6 vs worst ICANS grade")),
    ("cmax_vs_crs", _("CAR-T Cmax vs worst CRS grade")),
    ("cmax_vs_icans", _("CAR-T Cmax vs worst ICANS grade")),
)

#: The exploratory scatter's x measure per comparison (the y is always the worst grade, 0–5).
_CORRELATION_X: dict[str, str] = {
    "il6_vs_crs": "il6",
    "il6_vs_icans": "il6",
    "cmax_vs_crs": "cmax",
    "cmax_vs_icans": "cmax",
}

_SWIMMER_MARKERS: tuple[tuple[str, str, str, str], ...] = (
    # (row key, legend, colour, Chart.js point style)
    ("relapse_day", _("Relapse"), "#d95f0e", "triangle"),
    ("progression_day", _("Progression"), "#fe9929", "rectRot"),
    ("hsct_day", _("HSCT"), "#6a3d9a", "rect"),
    ("new_therapy_day", _("New therapy"), "#1f78b4", "star"),
    ("death_day", _("Death"), "#000000", "crossRot"),
)
_CR_FAMILY = ("CR", "CRh", "CRi")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}"


def format_rate(rate: dict) -> str:
    """ "k/n (p %) [95 % CI lo–hi]"; "k/0 (not estimable)" without a denominator."""
    k, n = rate["numerator"], rate["denominator"]
    if not n or rate["rate"] is None:
        return f"{k}/{n} (not estimable)"
    return (
        f"{k}/{n} ({percent(rate['rate'])} %) "
        f"[95 % CI {percent(rate['ci_lower'])}–{percent(rate['ci_upper'])}]"
    )


def _number(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def correlation_statistic(row: dict) -> str:
    """ "Spearman ρ = 0.80, p = 0.200, n = 4" from a stored correlation (its note if none)."""
    if row.get("rho") is None:
        note = row.get("note") or _("not estimable")
        return f"Spearman ρ = –, p = –, n = {row['n']} ({note})"
    p = row["p_value"]
    p_text = "p = –" if p is None else ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")
    return f"Spearman ρ = {row['rho']:.2f}, {p_text}, n = {row['n']}"


def survival_at(steps: list[dict], time: float) -> float:
    """The stored step curve read at ``time`` (1 before the first step)."""
    value = 1.0
    for step in steps:
        if step["time"] > time:
            break
        value = step["survival"]
    return value


@dataclass
class EfficacyBoard:
    """One group's endpoints as the page and the CSV downloads show them.

    ``values``: the group's stored snapshots by endpoint name (already de-identified for a
    reader who may not see subject IDs); ``study_data_version``: the study's newest save.
    """

    group: str
    groups: list[str]
    values: dict[str, dict]
    data_version: int | None
    computed_at: dt.datetime | None
    study_data_version: int
    stale_pairs: list[tuple[str, str]] = field(default_factory=list)
    #: The error of the newest recompute if the endpoints failed on it (shown in full only to
    #: readers of every site: it may name a subject).
    failure: str | None = None
    failure_detail_shown: bool = False

    # -- state ----------------------------------------------------------------------------

    @property
    def recomputing(self) -> bool:
        """A save newer than the stored snapshots is still being processed by the worker."""
        if self.failure is not None:
            return False
        if self.data_version is None:
            return self.study_data_version > 0
        return self.data_version < self.study_data_version

    @property
    def n(self) -> int:
        return (self.values.get("response_rates") or {}).get("n", 0)

    @property
    def empty(self) -> bool:
        """Nothing to show: no snapshot yet, or no infused subject in the group."""
        return self.data_version is None or self.n == 0

    def csv_url(self, table: str) -> str:
        return f"{reverse('efficacy-dashboard:csv', args=[table])}?group={self.group}"

    @property
    def csv_urls(self) -> dict[str, str]:
        """Each table's download link, keyed for templates ("best-response" → best_response)."""
        return {t.replace("-", "_"): self.csv_url(t) for t in TABLES}

    # -- response ---------------------------------------------------------------------------

    @cached_property
    def months(self) -> list[dict]:
        return (self.values.get("response_rates") or {}).get("months", [])

    @property
    def rate_rows(self) -> list[dict]:
        return [
            {"key": key, "label": label, "cells": [format_rate(m[key]) for m in self.months]}
            for key, label in RATES
        ]

    @property
    def rates_chart(self) -> Chart:
        return Chart(
            chart_id="efficacy-rates",
            title=str(_("ORR and CRR by month (%)")),
            labels=[f"M{m['month']}" for m in self.months],
            series=[
                Series(
                    "ORR",
                    [
                        None if m["ORR"]["rate"] is None else m["ORR"]["rate"] * 100
                        for m in self.months
                    ],
                    "#2b6cb0",
                ),
                Series(
                    "CRR",
                    [
                        None if m["CRR"]["rate"] is None else m["CRR"]["rate"] * 100
                        for m in self.months
                    ],
                    "#2f855a",
                ),
            ],
            x_title=str(_("Month")),
            y_title="%",
            csv_url=self.csv_url("rates"),
        )

    @property
    def best_response(self) -> dict:
        return self.values.get("best_response") or {"n": 0, "distribution": {}, "subjects": []}

    @property
    def best_response_rows(self) -> list[tuple[str, int]]:
        distribution = self.best_response.get("distribution", {})
        return [(c, distribution.get(c, 0)) for c in CATEGORIES]

    @property
    def blast_decline(self) -> dict:
        return self.values.get("blast_decline") or {"method": "", "by_month": {}, "waterfall": []}

    @property
    def blast_rows(self) -> list[dict]:
        return [
            {"month": int(month), **row}
            for month, row in sorted(
                self.blast_decline["by_month"].items(), key=lambda kv: int(kv[0])
            )
        ]

    @property
    def waterfall_chart(self) -> Chart:
        rows = self.blast_decline["waterfall"]
        return Chart(
            chart_id="efficacy-waterfall",
            title=str(_("Best marrow blast decline from baseline, per subject (waterfall)")),
            labels=[r["label"] for r in rows],
            series=[Series(str(_("Decline")), [r["best_decline"] for r in rows], "#2b6cb0")],
            x_title=str(_("Subject")),
            y_title=str(_("Decline (%)")) if self.blast_decline["method"] == "relative" else "pp",
            csv_url=self.csv_url("waterfall"),
            extra_options={
                "scales": {"x": axis(str(_("Subject"))), "y": axis(str(_("Decline")))},
                "plugins": {"legend": {"display": False}},
            },
        )

    # -- time to event ------------------------------------------------------------------------

    @property
    def survival(self) -> list[dict]:
        out = []
        for key, title in TIME_TO_EVENT:
            km = self.values.get(key)
            if not km:
                continue
            out.append(
                {
                    "key": key,
                    "title": title,
                    "km": km,
                    "chart": self._km_chart(key, title, km),
                    "median": self._median_text(km),
                }
            )
        return out

    @staticmethod
    def _median_text(km: dict) -> str:
        if not km["n"]:
            return str(_("no subject"))
        if km["median"] is None:
            return str(_("not reached"))
        lo, hi = km["median_ci_lower"], km["median_ci_upper"]
        return (
            f"{_number(km['median'], 0)} days ({_number(km['median_months'])} months) "
            f"[95 % CI {_number(lo, 0)}–{'not reached' if hi is None else _number(hi, 0)}]"
        )

    def _km_chart(self, key: str, title: str, km: dict) -> XYChart:
        steps = km["steps"]
        end = km.get("max_time") or (steps[-1]["time"] if steps else 0)
        curve = [(0, 1.0)] + [(s["time"], s["survival"]) for s in steps]
        lower = [(0, 1.0)] + [(s["time"], s["ci_lower"]) for s in steps]
        upper = [(0, 1.0)] + [(s["time"], s["ci_upper"]) for s in steps]
        last = (
            steps[-1] if steps else {"time": 0, "survival": 1.0, "ci_lower": 1.0, "ci_upper": 1.0}
        )
        if end > last["time"]:  # the curve runs on, flat, to the last follow-up
            curve.append((end, last["survival"]))
            lower.append((end, last["ci_lower"]))
            upper.append((end, last["ci_upper"]))
        stepped = {"stepped": True, "pointRadius": 0, "fill": False, "spanGaps": True}
        ci = {**stepped, "borderDash": [4, 4], "borderWidth": 1}
        ticks = [(t, survival_at(steps, t)) for t in km["censor_times"]]
        return XYChart(
            chart_id=f"efficacy-km-{key}",
            title=f"{title} (Kaplan–Meier)",
            labels=(),
            series=(),
            point_series=(
                PointSeries(str(title), curve, "#2b6cb0", options=stepped),
                PointSeries(str(_("95 % CI lower")), lower, "#90cdf4", options=ci),
                PointSeries(str(_("95 % CI upper")), upper, "#90cdf4", options=ci),
                PointSeries(
                    str(_("Censored")),
                    ticks,
                    "#2b6cb0",
                    kind="scatter",
                    options={"pointStyle": "line", "pointRadius": 6, "rotation": 90},
                ),
            ),
            csv_url=self.csv_url(key),
            extra_options={
                "scales": {
                    "x": axis(str(_("Days from infusion")), type="linear", min=0),
                    "y": axis(str(_("Probability")), min=0, max=1),
                },
            },
        )

    # -- swimmer, kinetics, correlations --------------------------------------------------------

    @property
    def swimmer_rows(self) -> list[dict]:
        return (self.values.get("swimmer") or {}).get("subjects", [])

    @property
    def overrides(self) -> list[dict]:
        """The responses whose category of record is the investigator's override, with the
        category the rules computed (both kept on the CRF; the reason is on its page)."""
        return [
            {"label": r["label"], **x}
            for r in self.swimmer_rows
            for x in r["responses"]
            if x.get("source") == "overridden"
        ]

    @property
    def swimmer_chart(self) -> XYChart:
        rows = self.swimmer_rows
        labels = [r["label"] for r in rows]
        lanes = PointSeries(
            str(_("Follow-up")),
            [(r["follow_up_days"], r["label"]) for r in rows],
            "#cbd5e0",
            kind="bar",
            # Drawn under the markers (Chart.js draws the lowest ``order`` on top).
            options={"barPercentage": 0.5, "order": 2},
        )
        cr = [
            (resp["day"], r["label"])
            for r in rows
            for resp in r["responses"]
            if resp["category"] in _CR_FAMILY
        ]
        other = [
            (resp["day"], r["label"])
            for r in rows
            for resp in r["responses"]
            if resp["category"] not in _CR_FAMILY
        ]
        markers = [
            PointSeries(
                str(_("CR/CRh/CRi")), cr, "#2f855a", "scatter", {"order": 1, "pointRadius": 5}
            ),
            PointSeries(
                str(_("Other response assessment")),
                other,
                "#718096",
                "scatter",
                {"order": 1, "pointRadius": 5},
            ),
        ]
        for key, legend, colour, style in _SWIMMER_MARKERS:
            points = [(r[key], r["label"]) for r in rows if r[key] is not None]
            markers.append(
                PointSeries(
                    str(legend),
                    points,
                    colour,
                    "scatter",
                    {"pointStyle": style, "pointRadius": 7, "order": 1},
                )
            )
        return XYChart(
            chart_id="efficacy-swimmer",
            title=str(_("Swimmer plot: each subject's course from infusion")),
            labels=labels,
            series=(),
            point_series=(lanes, *markers),
            csv_url=self.csv_url("swimmer"),
            extra_options={
                "indexAxis": "y",
                "scales": {
                    "x": axis(str(_("Study day")), type="linear", min=0),
                    "y": axis(str(_("Subject")), type="category"),
                },
            },
        )

    @property
    def kinetics(self) -> list[dict]:
        analytes = (self.values.get("kinetics") or {}).get("analytes", {})
        out = []
        for i, (name, entry) in enumerate(analytes.items()):
            series = [
                PointSeries(
                    row["label"],
                    [(p["day"], p["value"]) for p in row["points"]],
                    GRADE_COLOURS[1 + (j % 5)],
                    options={"pointRadius": 2},
                )
                for j, row in enumerate(entry["subjects"])
            ]
            chart = XYChart(
                chart_id=f"efficacy-kinetics-{i}",
                title=f"{_('CAR-T expansion')} ({name}, {entry['unit']})",
                labels=(),
                series=(),
                point_series=series,
                csv_url=self.csv_url("kinetics-levels"),
                extra_options={
                    "scales": {
                        "x": axis(str(_("Study day")), type="linear", min=0),
                        "y": axis(entry["unit"], type="logarithmic"),
                    }
                },
            )
            out.append({"name": name, "entry": entry, "chart": chart})
        return out

    @property
    def correlation_rows(self) -> list[dict]:
        stored = self.values.get("correlations") or {}
        return [
            {"key": key, "label": label, **stored[key]}
            for key, label in CORRELATIONS
            if key in stored
        ]

    @property
    def correlation_charts(self) -> list[dict]:
        """One scatter per stored comparison: each subject's (x, worst grade) on a log x axis,
        titled with the stored Spearman ρ, p and n (never recomputed here). One dataset per
        subject so the hover names it (its label is already de-identified for the reader);
        coloured by grade as the safety dashboard colours CRS/ICANS."""
        out = []
        for i, row in enumerate(self.correlation_rows):
            points = row.get("points", [])
            series = [
                PointSeries(
                    p["label"],
                    [(p["x"], p["y"])],
                    GRADE_COLOURS[min(max(int(p["y"]), 0), 5)],
                    kind="scatter",
                    # Drawn whole at the axis edges (grade 0, the lowest or highest x).
                    options={"pointRadius": 5, "borderColor": "#4a5568", "clip": False},
                )
                for p in points
            ]
            chart = XYChart(
                chart_id=f"efficacy-correlation-{i}",
                title=f"{row['label']}: {correlation_statistic(row)}",
                labels=(),
                series=(),
                point_series=series,
                csv_url=self.csv_url("correlation-points"),
                extra_options={
                    "scales": {
                        "x": axis(self._correlation_x_title(row["key"]), type="logarithmic"),
                        "y": axis(
                            str(_("Worst grade")),
                            type="linear",
                            min=0,
                            max=5,
                            ticks={"stepSize": 1},
                        ),
                    },
                    "plugins": {"legend": {"display": False}},
                },
            )
            out.append(
                {
                    "key": row["key"],
                    "row": row,
                    "chart": chart,
                    # A log axis cannot place 0 (e.g. CAR-T below the limit of quantification).
                    "not_drawn": sum(1 for p in points if p["x"] <= 0),
                }
            )
        return out

    def _correlation_x_title(self, key: str) -> str:
        if _CORRELATION_X.get(key) == "il6":
            return str(_("Peak IL-6 (pg/mL, log scale)"))
        stored = self.values.get("correlations") or {}
        analyte = stored.get("cmax_analyte", "")
        unit = (
            ((self.values.get("kinetics") or {}).get("analytes") or {}).get(analyte, {}).get("unit")
        )
        detail = ", ".join(x for x in (analyte, unit, str(_("log scale"))) if x)
        return f"{_('CAR-T Cmax')} ({detail})"

    # -- CSV tables -------------------------------------------------------------------------------

    def table(self, name: str) -> list[list[object]]:
        """The rows behind a chart or table (header first), the same numbers as the page."""
        if name == "rates":
            rows = [
                ["month", "endpoint", "numerator", "denominator", "rate", "ci_lower", "ci_upper"]
            ]
            for m in self.months:
                for key, _label in RATES:
                    r = m[key]
                    rows.append(
                        [m["month"], key, r["numerator"], r["denominator"], r["rate"],
                         r["ci_lower"], r["ci_upper"]]
                    )  # fmt: skip
            return rows
        if name == "best-response":
            rows = [["subject", "best_response", "mrd_negative", "month"]]
            for s in self.best_response["subjects"]:
                rows.append(
                    [s["label"], s["category"] or "not_assessed", s["mrd_negative"], s["month"]]
                )
            return rows
        if name == "blast-decline":
            rows = [["month", "n", "median", "minimum", "maximum", "excluded_zero_baseline"]]
            for r in self.blast_rows:
                rows.append([r["month"], r["n"], r["median"], r["minimum"], r["maximum"],
                             r["excluded_zero_baseline"]])  # fmt: skip
            return rows
        if name == "waterfall":
            rows = [["subject", "baseline_pct", "best_decline", "month"]]
            for r in self.blast_decline["waterfall"]:
                rows.append([r["label"], r["baseline_pct"], r["best_decline"], r["month"]])
            return rows
        if name in dict(TIME_TO_EVENT):
            km = self.values.get(name) or {"steps": []}
            rows = [["time_days", "at_risk", "events", "survival", "ci_lower", "ci_upper"]]
            for s in km["steps"]:
                rows.append([s["time"], s["at_risk"], s["events"], s["survival"], s["ci_lower"],
                             s["ci_upper"]])  # fmt: skip
            return rows
        if name == "swimmer":
            rows = [["subject", "follow_up_days", "responses", "relapse_day", "progression_day",
                     "hsct_day", "new_therapy_day", "death_day"]]  # fmt: skip
            for r in self.swimmer_rows:
                responses = "; ".join(
                    f"day {x['day']} {x['category']}"
                    + (
                        f" (overridden; computed {x['computed']})"
                        if x.get("source") == "overridden"
                        else ""
                    )
                    for x in r["responses"]
                )
                rows.append([r["label"], r["follow_up_days"], responses, r["relapse_day"],
                             r["progression_day"], r["hsct_day"], r["new_therapy_day"],
                             r["death_day"]])  # fmt: skip
            return rows
        if name == "kinetics":
            rows = [
                ["analyte", "subject", "unit", "cmax", "tmax_day", "auc_0_28", "tlast_day", "clast"]
            ]
            for k in self.kinetics:
                for s in k["entry"]["subjects"]:
                    rows.append([k["name"], s["label"], s["unit"], s["cmax"], s["tmax"],
                                 s["auc_0_28"], s["tlast"], s["clast"]])  # fmt: skip
            return rows
        if name == "kinetics-levels":
            rows = [["analyte", "subject", "unit", "study_day", "value"]]
            for k in self.kinetics:
                for s in k["entry"]["subjects"]:
                    for p in s["points"]:
                        rows.append([k["name"], s["label"], s["unit"], p["day"], p["value"]])
            return rows
        if name == "correlations":
            rows = [["comparison", "n", "spearman_rho", "p_value", "note"]]
            for r in self.correlation_rows:
                rows.append([r["key"], r["n"], r["rho"], r["p_value"], r["note"]])
            return rows
        if name == "correlation-points":
            rows = [["comparison", "subject", "x", "grade"]]
            for r in self.correlation_rows:
                for p in r.get("points", []):
                    rows.append([r["key"], p["label"], p["x"], p["y"]])
            return rows
        raise KeyError(name)
