"""The subject's safety timeline (issue #11 Requirement 6): data entered through the services
→ the page's rows, curves and treatment markers by study day; a fixed number of queries; the
sponsor's view without dates; the message before Day 0; the CSV of every chart."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from safety.selectors_timeline import subject_timeline
from safety.services import save_adverse_event
from tests.enrollment_data import register_and_consent
from tests.safety.ae_pages import shipped
from tests.safety.crs_data import add_crs, add_icans, infused_subject
from tests.safety.lab_data import panel
from tests.safety.transfusion_data import transfuse

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a, days_ago=14)


def _fever(subject, actor, onset_day: int, grade: int = 1, resolved_day: int | None = None):
    values = {
        "term": shipped("Fever"),
        "onset_date": subject.day0 + dt.timedelta(days=onset_day),
        "grade": grade,
        "treatments": ["anakinra"],
    }
    if resolved_day is not None:
        values |= {
            "ongoing": False,
            "resolution_date": subject.day0 + dt.timedelta(days=resolved_day),
            "outcome": "recovered",
        }
    return save_adverse_event(subject, actor=actor, values=values)


def _records(subject, actor, n: int):
    """n of each kind: AEs, CRS days, ICANS days, IL-6/ferritin/CRP collections, transfusions."""
    for i in range(n):
        _fever(subject, actor, 1 + i, resolved_day=2 + i)
        add_crs(subject, actor, 1 + i, "38.4")
        add_icans(subject, actor, 1 + i, (4, 3, 1, 1, 1))
        panel(subject, actor, 1 + i, ("IL6", "150"), ("FERRITIN", "2400"), ("CRP", "90"))
        transfuse(subject, actor, 1 + i, "platelets")


@pytest.mark.parametrize("n", [1, 4])
def test_the_timeline_reads_in_six_queries(subject, coordinator_a, django_assert_num_queries, n):
    _records(subject, coordinator_a, n)
    with django_assert_num_queries(6):
        timeline = subject_timeline(subject)
    # The CRS-episode AE is kept automatically, beside the n fevers.
    assert len([s for s in timeline.spans if s.label == "Fever"]) == n
    assert sorted(timeline.crs) == list(range(1, n + 1))
    assert sorted(timeline.curves["il6"]) == list(range(1, n + 1))
    assert sorted(timeline.treatments["transfusions"]) == list(range(1, n + 1))


def test_every_row_is_on_its_study_day(subject, coordinator_a):
    _fever(subject, coordinator_a, 2, grade=2, resolved_day=4)
    add_crs(subject, coordinator_a, 3, "39.2")
    add_crs(
        subject,
        coordinator_a,
        4,
        "38.9",
        hypotension=True,
        lowest_sbp_mmhg=82,
        vasopressors=["norepinephrine"],
        norepinephrine_ug_kg_min="0.05",
        tocilizumab_given=True,
        tocilizumab_dose_mg="560",
    )
    panel(subject, coordinator_a, 3, ("IL6", "150"), ("CRP", "9", "mg/dL"))
    panel(subject, coordinator_a, 3, ("IL6", "420"))  # the day's peak is kept
    transfuse(subject, coordinator_a, -2, "red_cells", units=2)
    timeline = subject_timeline(subject)
    assert timeline.days[0] == -7 and timeline.days[-1] == 28
    (fever,) = [row for row in timeline.span_rows() if row["span"].label == "Fever"]
    cells = dict(zip(timeline.days, fever["cells"], strict=True))
    assert [cells[d] for d in (1, 2, 3, 4, 5)] == [None, 2, 2, 2, None]
    assert timeline.crs == {3: 1, 4: 3}  # fever; hypotension needing a vasopressor
    assert float(timeline.curves["temperature"][3]) == 39.2
    assert float(timeline.curves["il6"][3]) == 420
    assert float(timeline.curves["crp"][3]) == 90  # 9 mg/dL shown in mg/L
    assert timeline.treatments["vasopressors"] == {4: ["Norepinephrine"]}
    assert timeline.treatments["tocilizumab"] == {4: ["CRS day"]}
    assert timeline.treatments["anakinra"] == {2: ["AE: Fever"]}
    assert timeline.treatments["transfusions"] == {-2: ["Red blood cells × 2"]}


def test_an_ongoing_event_runs_to_today_and_later_data_offers_the_longer_range(
    subject, coordinator_a, frozen_clock
):
    _fever(subject, coordinator_a, 10)
    frozen_clock(subject.day0 + dt.timedelta(days=40))
    panel(subject, coordinator_a, 12, ("CRP", "40"))
    timeline = subject_timeline(subject)
    (row,) = [r for r in timeline.span_rows() if r["span"].label == "Fever"]
    assert row["span"].end_day == 40 and row["after"]
    assert row["cells"][-1] == 1  # Day 28 is still inside the event
    assert timeline.data_beyond and timeline.latest_data_day == 40
    longer = subject_timeline(subject, shown_to="all")
    assert longer.last_day == 40 and longer.days[-1] == 40
    assert subject_timeline(subject, shown_to="90").last_day == 90


def test_the_page_shows_the_grid_and_the_charts_with_their_csv(client, subject, coordinator_a):
    add_crs(subject, coordinator_a, 3, "39.2")
    panel(subject, coordinator_a, 3, ("FERRITIN", "2400"))
    client.force_login(coordinator_a)
    page = client.get(f"/safety/subjects/{subject.pk}/timeline/")
    assert page.status_code == 200
    html = page.content.decode()
    for chart in ("temperature", "il6", "ferritin", "crp"):
        assert f'id="timeline-{chart}-spec"' in html
        assert f"/safety/subjects/{subject.pk}/timeline/{chart}.csv?to=28" in html
    assert 'data-testid="timeline-crs"' in html
    assert subject.day0.strftime("%d-%b-%Y") in html  # identified readers see Day 0's date
    ferritin = client.get(f"/safety/subjects/{subject.pk}/timeline/ferritin.csv")
    rows = list(csv.reader(io.StringIO(b"".join(ferritin.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Study day", "Ferritin (ng/mL)"]
    assert ["3", "2400.0"] in rows
    events = client.get(f"/safety/subjects/{subject.pk}/timeline/events.csv")
    grid = list(csv.reader(io.StringIO(b"".join(events.streaming_content).decode("utf-8-sig"))))
    (crs_row,) = [r for r in grid if r[0] == "CRS grade (ASTCT)"]
    assert crs_row[grid[0].index("3")] == "1"


def test_the_subject_page_links_the_timeline_and_the_transfusions(client, subject, monitor):
    client.force_login(monitor)
    html = client.get(f"/subjects/{subject.pk}/").content.decode()
    assert f"/safety/subjects/{subject.pk}/timeline/" in html
    assert f"/safety/subjects/{subject.pk}/transfusions/" in html


def test_the_sponsor_sees_study_days_and_no_dates(client, subject, coordinator_a, sponsor):
    _fever(subject, coordinator_a, 2)
    client.force_login(sponsor)
    page = client.get(f"/safety/subjects/{subject.pk}/timeline/")
    assert page.status_code == 200
    html = page.content.decode()
    assert subject.day0.strftime("%d-%b-%Y") not in html
    assert subject.initials not in html  # "WLX"
    assert subject.birth_date.strftime("%d-%b-%Y") not in html
    assert f"/subjects/{subject.pk}/" not in html.replace("/safety/subjects/", "")
    assert "Fever" in html


def test_before_day_0_the_page_says_so(client, site_a, coordinator_a, investigator_a):
    waiting = register_and_consent(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    page = client.get(f"/safety/subjects/{waiting.pk}/timeline/")
    assert page.status_code == 200
    assert 'data-testid="timeline-no-day0"' in page.content.decode()
    assert "<canvas" not in page.content.decode()
    assert client.get(f"/safety/subjects/{waiting.pk}/timeline/il6.csv").status_code == 404


def test_the_page_reads_the_same_number_of_queries_for_1_and_n_records(
    client, site_a, coordinator_a, investigator_a
):
    counts = []
    for n, initials in ((1, "AA"), (4, "AB")):
        subject = infused_subject(site_a, coordinator_a, investigator_a, initials=initials)
        _records(subject, coordinator_a, n)
        client.force_login(coordinator_a)
        url = f"/safety/subjects/{subject.pk}/timeline/"
        client.get(url)  # warm the session
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
