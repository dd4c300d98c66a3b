"""Charts as data: the server computes every number, the browser only draws (DESIGN.md §9).

One charting library for the product (Chart.js, vendored in ``static/vendor/``; see its README).
A view builds a :class:`Chart` from numbers its selector computed, passes it to the template
``charts/_chart.html`` (the specification goes out through ``json_script``, which the
Content-Security-Policy allows, and ``static/js/charts.js`` draws it), and serves the same rows
as CSV with :func:`csv_response` so every chart has its data beside it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.http import StreamingHttpResponse

#: Colours by grade 0-5 (colour-blind-safe ramp); dashboards colour CRS/ICANS/CTCAE grades alike.
GRADE_COLOURS = ("#bdbdbd", "#fee391", "#fec44f", "#fe9929", "#d95f0e", "#993404")


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | int | None]
    colour: str = "#2b6cb0"


@dataclass(frozen=True)
class Chart:
    """A bar or line chart over categories (dose levels, study days)."""

    chart_id: str
    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    kind: str = "bar"
    stacked: bool = False
    x_title: str = ""
    y_title: str = ""
    csv_url: str = ""
    extra_options: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in ("bar", "line"):
            raise ValueError(f"kind must be bar or line, not {self.kind!r}")
        for s in self.series:
            if len(s.values) != len(self.labels):
                raise ValueError(f"series {s.label!r} has {len(s.values)} values for "
                                 f"{len(self.labels)} labels")  # fmt: skip

    @property
    def spec_id(self) -> str:
        return f"{self.chart_id}-spec"

    @property
    def spec(self) -> dict:
        """The Chart.js configuration (plain JSON: numbers and text only)."""
        axis = {"stacked": self.stacked}
        return {
            "type": self.kind,
            "data": {
                "labels": [str(label) for label in self.labels],
                "datasets": [
                    {
                        "label": s.label,
                        "data": list(s.values),
                        "backgroundColor": s.colour,
                        "borderColor": s.colour,
                    }
                    for s in self.series
                ],
            },
            "options": {
                "scales": {
                    "x": {**axis, "title": {"display": bool(self.x_title), "text": self.x_title}},
                    "y": {
                        **axis,
                        "beginAtZero": True,
                        "title": {"display": bool(self.y_title), "text": self.y_title},
                    },
                },
                **self.extra_options,
            },
        }

    def rows(self) -> list[list[object]]:
        """The chart's data as a table: one row per label, one column per series."""
        header = [self.x_title or "category", *(s.label for s in self.series)]
        body = [[label, *(s.values[i] for s in self.series)] for i, label in enumerate(self.labels)]
        return [header, *body]


def _lines(rows: Iterable[Sequence[object]]):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_response(rows: Iterable[Sequence[object]], *, filename: str) -> StreamingHttpResponse:
    """Stream rows as a CSV download (UTF-8 with BOM so spreadsheets read µ and ≥)."""

    def body():
        yield "\ufeff"
        yield from _lines(rows)

    response = StreamingHttpResponse(body(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
