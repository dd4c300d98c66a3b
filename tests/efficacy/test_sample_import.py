"""CSV import of efficacy samples: every bad row listed, all-or-nothing, idempotent, audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from efficacy import sample_import
from efficacy.models import AntiCARAntibody, KineticsSample, RCLTest, SampleImport
from tests.efficacy.sample_data import (
    ANTI_CAR_HEADER,
    KINETICS_HEADER,
    RCL_HEADER,
    day,
    golden_kinetics_csv,
    infused_subject,
    kinetics_line,
)
from trialsite.records.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


def _preview(content, kind, study, user, filename="samples.csv"):
    return sample_import.preview(content, kind=kind, filename=filename, study=study, user=user)


def test_a_clean_kinetics_file_is_committed_with_its_import_record(subject, study, coordinator_a):
    content = golden_kinetics_csv(subject)
    plan = _preview(content, "kinetics", study, coordinator_a, "pk-batch-1.csv")
    assert plan.error_count == 0 and plan.summary["create"] == 10
    record = sample_import.commit(plan, user=coordinator_a, study=study)
    assert KineticsSample.objects.filter(subject=subject).count() == 10
    blq = KineticsSample.objects.get(sample_id=f"PK-{subject.pk}-90")
    assert blq.blq and blq.value is None and blq.level == 0.0
    peak = KineticsSample.objects.get(sample_id=f"PK-{subject.pk}-10")
    assert peak.value == Decimal("45000") and peak.unit == "copies/µg gDNA"
    assert peak.study_day == 10 and peak.lloq == Decimal("50")
    import hashlib

    assert (record.sha256, record.filename) == (hashlib.sha256(content).hexdigest(),
                                                "pk-batch-1.csv")  # fmt: skip
    assert (record.rows, record.created, record.updated, record.unchanged) == (10, 10, 0, 0)
    assert record.imported_by == coordinator_a and record.kind == "kinetics"


def test_every_bad_row_is_listed_and_nothing_is_written(subject, study, coordinator_a):
    lines = [
        KINETICS_HEADER,
        kinetics_line(subject, "OK-1", 7, "1200"),
        kinetics_line(subject, "NEG-1", 7, "-5", timepoint="UNS"),
        kinetics_line(subject, "UNIT-1", 7, "5", unit="copies/mL blood", timepoint="UNS"),
        kinetics_line(subject, "SUBJ-1", 7, "5", key="NOBODY-9"),
        kinetics_line(subject, "EARLY-1", -3, "5", timepoint="UNS"),
        kinetics_line(subject, "TP-1", 14, "5", timepoint="D15"),
        kinetics_line(subject, "OK-1", 10, "300"),
        kinetics_line(subject, "FLOW-1", 10, "3", method="flow", unit="copies/ug gDNA"),
        kinetics_line(subject, "LOW-1", 21, "10", lloq="50"),
        kinetics_line(subject, "NOVAL-1", 21, "", blq="no"),
    ]
    plan = _preview("".join(lines).encode(), "kinetics", study, coordinator_a)
    by_line = {r.line: r for r in plan.rows}
    assert by_line[2].action == "create" and not by_line[2].errors
    assert "negative" in by_line[3].errors["value"]
    assert "Unknown unit" in by_line[4].errors["unit"]
    assert "Unknown subject" in by_line[5].errors["subject"]
    assert "before Day 0" in by_line[6].errors["collected_at"]
    assert "timepoint" in by_line[7].errors and "D15" in by_line[7].errors["timepoint"]
    assert "line 2" in by_line[8].errors["sample_id"]  # a duplicate sample ID within the file
    assert "Unknown unit" in by_line[9].errors["unit"]  # qPCR's unit for a flow level
    assert "LLOQ" in by_line[10].errors["value"]
    assert "BLQ" in by_line[11].errors["value"]
    assert plan.summary == {"create": 1, "update": 0, "unchanged": 0, "error": 9}
    with pytest.raises(ValueError):
        sample_import.commit(plan, user=coordinator_a, study=study)
    assert not KineticsSample.objects.exists() and not SampleImport.objects.exists()


def test_a_future_date_is_refused_by_the_records_plausibility_check(subject, study, coordinator_a):
    content = KINETICS_HEADER + kinetics_line(subject, "F-1", 400, "10", timepoint="UNS")
    plan = _preview(content.encode(), "kinetics", study, coordinator_a)
    assert "future" in plan.rows[0].errors["collected_at"]


def test_a_subject_without_day0_has_no_kinetics(site_a, study, coordinator_a, investigator_a):
    from tests.enrollment_data import register_and_consent

    waiting = register_and_consent(site_a, coordinator_a, investigator_a)
    line = f"{waiting.screening_number},W-1,2025-01-10 08:00,D4,blood,qpcr,5,copies/ug gDNA,no,\n"
    plan = _preview((KINETICS_HEADER + line).encode(), "kinetics", study, coordinator_a)
    assert "Day 0" in plan.rows[0].errors["collected_at"]


def test_a_subject_of_another_site_is_unknown_to_the_importer(subject, study, coordinator_b):
    plan = _preview(golden_kinetics_csv(subject), "kinetics", study, coordinator_b)
    assert all("subject" in r.errors for r in plan.rows)


def test_missing_columns_and_non_utf8_are_file_errors(study, coordinator_a):
    plan = _preview(b"subject,sample_id\nX,Y\n", "rcl", study, coordinator_a)
    assert "collected_on" in plan.file_errors[0]
    plan = _preview("subject\n\xe9".encode("latin-1"), "rcl", study, coordinator_a)
    assert "UTF-8" in plan.file_errors[0]


def test_units_are_converted_to_the_methods_unit(subject, study, coordinator_a):
    content = (
        KINETICS_HEADER
        + kinetics_line(subject, "NG-1", 7, "12", unit="copies/ng gDNA", lloq="0.05")
        + kinetics_line(subject, "ML-1", 7, "85000", method="flow", unit="cells/mL", lloq="")
        + kinetics_line(subject, "G9-1", 10, "0.2", method="flow", unit="10^9/L", lloq="")
        + kinetics_line(subject, "MU-1", 14, "40", method="flow", unit="cells/µL", lloq="")
    )
    plan = _preview(content.encode(), "kinetics", study, coordinator_a)
    assert plan.error_count == 0
    sample_import.commit(plan, user=coordinator_a, study=study)
    got = {s.sample_id: (s.value, s.unit, s.lloq, s.reported_unit)
           for s in KineticsSample.objects.all()}  # fmt: skip
    assert got["NG-1"] == (Decimal("12000"), "copies/µg gDNA", Decimal("50"), "copies/ng gDNA")
    assert got["ML-1"][:2] == (Decimal("85"), "cells/µL")
    assert got["G9-1"][:2] == (Decimal("200"), "cells/µL")
    assert got["MU-1"][:2] == (Decimal("40"), "cells/µL")


def test_reimport_changes_nothing_and_a_changed_value_is_an_audited_update(
    subject, study, coordinator_a
):
    content = golden_kinetics_csv(subject)
    sample_import.commit(_preview(content, "kinetics", study, coordinator_a), user=coordinator_a,
                         study=study)  # fmt: skip
    audit_rows = AuditEvent.objects.count()
    versions = dict(KineticsSample.objects.values_list("sample_id", "version"))
    again = _preview(content, "kinetics", study, coordinator_a)
    assert again.summary == {"create": 0, "update": 0, "unchanged": 10, "error": 0}
    sample_import.commit(again, user=coordinator_a, study=study)
    assert AuditEvent.objects.count() == audit_rows
    assert dict(KineticsSample.objects.values_list("sample_id", "version")) == versions
    assert SampleImport.objects.count() == 2  # the re-import is recorded, with nothing changed

    fixed = content.replace(b",45000,", b",46000,")
    plan = _preview(fixed, "kinetics", study, coordinator_a, "pk-batch-1-corrected.csv")
    assert plan.summary == {"create": 0, "update": 1, "unchanged": 9, "error": 0}
    sample_import.commit(plan, user=coordinator_a, study=study)
    peak = KineticsSample.objects.get(sample_id=f"PK-{subject.pk}-10")
    assert peak.value == Decimal("46000") and peak.version == 2
    change = AuditEvent.objects.get(
        content_type=ContentType.objects.get_for_model(KineticsSample),
        object_id=str(peak.pk),
        action="update",
    )
    assert change.reason.startswith("import pk-batch-1-corrected.csv (sha256 ")
    assert [Decimal(v) for v in change.changes["value"]] == [Decimal("45000"), Decimal("46000")]
    assert change.actor_id == coordinator_a.pk


def test_a_sample_id_of_another_subject_is_refused(subject, study, coordinator_a, site_a,
                                                  investigator_a):  # fmt: skip
    sample_import.commit(_preview(golden_kinetics_csv(subject), "kinetics", study, coordinator_a),
                         user=coordinator_a, study=study)  # fmt: skip
    other = infused_subject(site_a, coordinator_a, investigator_a, initials="ABC")
    content = KINETICS_HEADER + kinetics_line(other, f"PK-{subject.pk}-10", 10, "5")
    plan = _preview(content.encode(), "kinetics", study, coordinator_a)
    assert "another subject" in plan.rows[0].errors["sample_id"]


def test_a_failure_during_the_commit_rolls_back_every_row(subject, study, coordinator_a,
                                                         monkeypatch):  # fmt: skip
    plan = _preview(golden_kinetics_csv(subject), "kinetics", study, coordinator_a)
    calls = []
    real = sample_import.save_sample

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(sample_import, "save_sample", failing)
    with pytest.raises(RuntimeError):
        sample_import.commit(plan, user=coordinator_a, study=study)
    assert not KineticsSample.objects.exists() and not SampleImport.objects.exists()


def test_anti_car_rows_and_their_errors(subject, study, coordinator_a):
    content = ANTI_CAR_HEADER + "".join(
        f"{subject.screening_number},{sid},{day(subject, d).isoformat()},{tp},{res},{titre}\n"
        for sid, d, tp, res, titre in [
            ("ADA-1", -2, "BL", "negative", ""),
            ("ADA-2", 28, "D28", "positive", "160"),
            ("ADA-3", 56, "W8", "negative", "40"),
            ("ADA-4", 84, "W60", "negative", ""),
            ("ADA-5", 84, "W12", "weak", ""),
            ("ADA-6", 84, "W12", "positive", "0"),
        ]
    )
    plan = _preview(content.encode(), "anti_car", study, coordinator_a)
    by_id = {r.sample_id: r for r in plan.rows}
    assert not by_id["ADA-1"].errors and not by_id["ADA-2"].errors
    assert "positive" in by_id["ADA-3"].errors["titre"]
    assert "W60" in by_id["ADA-4"].errors["timepoint"]
    assert "weak" in by_id["ADA-5"].errors["result"]
    assert "whole number" in by_id["ADA-6"].errors["titre"]
    good = ANTI_CAR_HEADER + "".join(content.splitlines(keepends=True)[1:3])
    sample_import.commit(_preview(good.encode(), "anti_car", study, coordinator_a),
                         user=coordinator_a, study=study)  # fmt: skip
    assert AntiCARAntibody.objects.get(sample_id="ADA-2").titre == 160
    assert AntiCARAntibody.objects.get(sample_id="ADA-1").study_day == -2


def test_rcl_rows_on_the_long_term_schedule(subject, study, coordinator_a):
    rows = [
        ("RCL-1", 90, "M3", "vsvg_qpcr", "negative", "", ""),
        ("RCL-2", 180, "M6", "coculture", "negative", "polyclonal", "4.5"),
        ("RCL-3", 180, "Y16", "vsvg_qpcr", "negative", "", ""),
        ("RCL-4", 180, "M6", "elisa", "negative", "", ""),
        ("RCL-5", 180, "M6", "vsvg_qpcr", "negative", "biclonal", ""),
        ("RCL-6", 180, "M6", "vsvg_qpcr", "negative", "oligoclonal", "140"),
        ("RCL-7", 180, "M6", "vsvg_qpcr", "negative", "", "20"),
    ]
    content = RCL_HEADER + "".join(
        f"{subject.screening_number},{sid},{day(subject, d).isoformat()},{tp},{m},{res},{site},"
        f"{pct}\n"
        for sid, d, tp, m, res, site, pct in rows
    )
    plan = _preview(content.encode(), "rcl", study, coordinator_a)
    by_id = {r.sample_id: r for r in plan.rows}
    assert not by_id["RCL-1"].errors and not by_id["RCL-2"].errors
    assert "Y16" in by_id["RCL-3"].errors["timepoint"]
    assert "elisa" in by_id["RCL-4"].errors["method"]
    assert "biclonal" in by_id["RCL-5"].errors["insertion_site"]
    assert "0 to 100" in by_id["RCL-6"].errors["dominant_clone_pct"]
    assert "insertion-site" in by_id["RCL-7"].errors["dominant_clone_pct"]
    assert {"Y2", "Y15"} <= {v for v, _label in RCLTest._meta.get_field("timepoint").choices}


def test_the_commit_reports_its_progress_for_a_large_file(subject, study, coordinator_a):
    content = KINETICS_HEADER + "".join(
        kinetics_line(subject, f"BIG-{d}", d, str(100 + d), timepoint="UNS") for d in range(120)
    )
    plan = _preview(content.encode(), "kinetics", study, coordinator_a)
    seen = []
    sample_import.commit(plan, user=coordinator_a, study=study,
                         progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert seen == [(50, 120), (100, 120), (120, 120)]
    assert KineticsSample.objects.count() == 120


def test_the_task_stores_the_progress_and_refuses_a_file_that_went_bad(
    subject, study, coordinator_a
):
    content = golden_kinetics_csv(subject)
    sample_import.store_upload("t1", kind="kinetics", content=content, filename="pk.csv",
                               study=study, user=coordinator_a)  # fmt: skip
    sample_import.set_progress("t1", state="queued", done=0, total=0, user_id=coordinator_a.pk)
    assert sample_import.run_job("t1")["state"] == "done"
    state = sample_import.progress_of("t1")
    assert (state["state"], state["done"], state["total"]) == ("done", 10, 10)
    assert state["user_id"] == coordinator_a.pk and sample_import.upload("t1") is None
    # An upload that expired from the cache fails with a message for the page.
    assert sample_import.run_job("expired")["state"] == "failed"
    assert sample_import.progress_of("expired")["message"] == "upload expired"


def test_after_withdrawal_of_consent_no_new_sample_is_imported(subject, study, coordinator_a):
    import datetime as dt

    from django.utils import timezone

    from enrollment.models import Consent
    from enrollment.services import update_consent

    first = KINETICS_HEADER + kinetics_line(subject, "KEPT-1", 7, "900")
    sample_import.commit(_preview(first.encode(), "kinetics", study, coordinator_a),
                         user=coordinator_a, study=study)  # fmt: skip
    consent = Consent.objects.get(subject=subject)
    update_consent(
        consent,
        actor=coordinator_a,
        values={
            "withdrawn_at": timezone.make_aware(
                dt.datetime.combine(day(subject, 100), dt.time(10))
            ),
            "withdrawal_reason": "Patient's decision",
        },
        expected_version=consent.version,
        reason="withdrawal",
    )
    content = first.replace(",900,", ",950,") + kinetics_line(subject, "NEW-1", 120, "40",
                                                               lloq="")  # fmt: skip
    plan = _preview(content.encode(), "kinetics", study, coordinator_a)
    by_id = {r.sample_id: r for r in plan.rows}
    assert by_id["KEPT-1"].action == "update"  # a correction of a sample collected before
    assert "withdraw" in by_id["NEW-1"].errors["subject"].lower()
