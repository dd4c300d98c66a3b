"""Charts as data (trialsite/charts.py): the specification the browser draws and its CSV."""

from __future__ import annotations

import json

import pytest
from django.template.loader import render_to_string

from trialsite.charts import Chart, Series, csv_response


def _crs_by_level():
    return Chart(
        chart_id="crs-grade",
        title="Maximum CRS grade by dose level",
        labels=["DL1", "DL2"],
        series=[Series("Grade 1", [1, 2]), Series("Grade 3", [0, 1], colour="#d95f0e")],
        stacked=True,
        x_title="Dose level",
        y_title="Subjects",
        csv_url="/safety/dashboard/crs.csv",
    )


def test_it_describes_the_chart_with_the_servers_numbers_only():
    spec = _crs_by_level().spec
    assert json.loads(json.dumps(spec)) == spec  # plain JSON, no code
    assert spec["type"] == "bar"
    assert [d["data"] for d in spec["data"]["datasets"]] == [[1, 2], [0, 1]]
    assert spec["options"]["scales"]["x"]["stacked"] is True


def test_a_series_that_does_not_match_the_labels_is_refused():
    with pytest.raises(ValueError, match="has 1 values for 2 labels"):
        Chart(chart_id="x", title="x", labels=["a", "b"], series=[Series("s", [1])])


def test_its_rows_are_the_chart_as_a_table():
    assert _crs_by_level().rows() == [
        ["Dose level", "Grade 1", "Grade 3"],
        ["DL1", 1, 0],
        ["DL2", 2, 1],
    ]


def test_the_csv_download_streams_the_rows_with_a_bom():
    response = csv_response(_crs_by_level().rows(), filename="crs.csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffDose level,Grade 1,Grade 3\r\n")
    assert body.endswith("DL2,2,1\r\n")
    assert response["Content-Disposition"] == 'attachment; filename="crs.csv"'


def test_the_template_writes_the_spec_as_json_and_links_the_csv():
    html = render_to_string("charts/_chart.html", {"chart": _crs_by_level()})
    assert 'data-chart="crs-grade-spec"' in html
    assert '<script id="crs-grade-spec" type="application/json">' in html
    assert 'href="/safety/dashboard/crs.csv"' in html
    assert "Maximum CRS grade by dose level" in html
