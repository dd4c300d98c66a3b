"""Charts over a numeric axis for the efficacy dashboard (Kaplan–Meier steps, swimmer lanes,
CAR-T levels over study days), on top of ``trialsite.charts.Chart``.

``Chart`` draws series over shared category labels (dose levels); a survival curve needs its own
(time, survival) pairs on a linear time axis, so :class:`XYChart` sends each series as Chart.js
``{x, y}`` points, with per-series Chart.js options (``stepped`` for Kaplan–Meier, a point-only
``scatter`` for swimmer markers). The numbers are the stored snapshot's (issue #13
Requirement 3); this module only lays them out, and the browser (``static/js/charts.js``) only
draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from trialsite.charts import Chart


@dataclass(frozen=True)
class PointSeries:
    """One Chart.js dataset of (x, y) points; ``kind`` "line", "scatter" or "bar"."""

    label: str
    points: Sequence[tuple[object, object]]
    colour: str = "#2b6cb0"
    kind: str = "line"
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class XYChart(Chart):
    """A chart whose series are point lists (``labels``: the category axis, if any)."""

    kind: str = "line"
    point_series: Sequence[PointSeries] = ()

    @property
    def spec(self) -> dict:
        spec = super().spec
        data: dict = {
            "datasets": [
                {
                    "type": s.kind,
                    "label": s.label,
                    "data": [{"x": x, "y": y} for x, y in s.points],
                    "backgroundColor": s.colour,
                    "borderColor": s.colour,
                    **s.options,
                }
                for s in self.point_series
            ]
        }
        if self.labels:
            data["labels"] = [str(label) for label in self.labels]
        spec["data"] = data
        return spec


def axis(title: str, **options) -> dict:
    """A Chart.js axis with its title shown."""
    return {"title": {"display": bool(title), "text": title}, **options}
