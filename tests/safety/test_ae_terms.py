"""The CTCAE v5.0 terms shipped as data, the loader of NCI's file (audited) and the term search
(issue #11, Requirement 1)."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from openpyxl import Workbook

from safety.models import AdverseEvent, CTCAELoad, CTCAETerm
from safety.rules.ctcae import CTCAE_CLINICAL_TERMS, CTCAE_TERMS
from safety.services import load_ctcae_file, save_adverse_event
from safety.terms_loader import TermFileError
from tests.enrollment_data import register_and_consent

pytestmark = pytest.mark.django_db

NCI_HEADER = ["MedDRA Code", "MedDRA SOC", "CTCAE Term", "Grade 1", "Grade 2", "Grade 3",
              "Grade 4", "Grade 5", "Definition", "Navigational Note"]  # fmt: skip
FEVER = [10016558, "General disorders and administration site conditions", "Fever",
         "38.0 - 39.0 degrees C (100.4 - 102.2 degrees F)",
         ">39.0 - 40.0 degrees C (102.3 - 104.0 degrees F)",
         ">40.0 degrees C (>104.0 degrees F) for <=24 hrs",
         ">40.0 degrees C (>104.0 degrees F) for >24 hrs", "Death",
         "A disorder characterized by elevation of the body's temperature above the upper limit "
         "of normal.", ""]  # fmt: skip
NAUSEA = [10028813, "Gastrointestinal disorders", "Nausea", "Loss of appetite",
          "Oral intake decreased", "Inadequate oral caloric or fluid intake", "-", "-",
          "A queasy sensation.", ""]  # fmt: skip
CRS = [10052015, "Immune system disorders", "Cytokine release syndrome",
       "Fever with or without constitutional symptoms", "Hypotension responding to fluids",
       "Hypotension managed with one pressor", "Life-threatening consequences", "Death",
       "", ""]  # fmt: skip
NEW = [10099999, "Eye disorders", "Blurred vision", "Intervention not indicated",
       "Limiting instrumental ADL", "Limiting self care ADL", "-", "-", "", ""]  # fmt: skip


def xlsx(*rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "CTCAE v5.0 Clean Copy"
    sheet.append(NCI_HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(*rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(NCI_HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def test_the_shipped_set_covers_the_socs_a_car_t_trial_reports():
    terms = CTCAETerm.objects.all()
    assert terms.count() >= 150
    socs = set(terms.values_list("soc", flat=True))
    for soc in (
        "Blood and lymphatic system disorders",
        "Infections and infestations",
        "Cardiac disorders",
        "Nervous system disorders",
        "Immune system disorders",
        "Metabolism and nutrition disorders",
        "Hepatobiliary disorders",
        "Renal and urinary disorders",
        "Respiratory, thoracic and mediastinal disorders",
        "General disorders and administration site conditions",
        "Investigations",
        "Vascular disorders",
        "Gastrointestinal disorders",
        "Skin and subcutaneous tissue disorders",
    ):
        assert soc in socs
    for soc in socs:  # every SOC has its "Other, specify" term
        other = CTCAETerm.objects.get(term=f"{soc} - Other, specify")
        assert other.other_specify and other.max_grade == 5
    for name in ("Encephalopathy", "Seizure", "Fever", "Febrile neutropenia", "Lung infection"):
        assert CTCAETerm.objects.filter(term=name).exists()


def test_crs_and_icans_are_this_studys_terms_graded_by_astct():
    crs = CTCAETerm.objects.get(term="Cytokine release syndrome")
    icans = CTCAETerm.objects.get(term="Immune effector cell-associated neurotoxicity syndrome")
    assert (crs.dlt_category, icans.dlt_category) == ("crs", "icans")
    assert crs.grading_scale == icans.grading_scale == "astct_2019"
    assert "vasopressor" in crs.grade_3 and "ICE score 0-2" in icans.grade_3
    assert icans.meddra_code is None and icans.code_to_verify  # not invented
    assert "no ICANS term" in icans.definition


def test_grades_printed_as_a_dash_are_empty_so_the_highest_grade_is_known():
    assert CTCAETerm.objects.get(term="Nausea").max_grade == 3
    assert CTCAETerm.objects.get(term="Neutrophil count decreased").max_grade == 4
    sepsis = CTCAETerm.objects.get(term="Sepsis")
    assert [g for g, _t in sepsis.grades] == [4, 5]


def test_the_dlt_category_is_hematologic_for_the_cytopenias_only():
    hematologic = set(
        CTCAETerm.objects.filter(dlt_category="hematologic").values_list("term", flat=True)
    )
    assert hematologic == {
        "Anemia",
        "Neutrophil count decreased",
        "Platelet count decreased",
        "White blood cell decreased",
        "Lymphocyte count decreased",
    }


def test_meddra_codes_come_only_from_the_rules_with_their_to_verify_flags():
    known = {t.term: t for t in (*CTCAE_TERMS.values(), *CTCAE_CLINICAL_TERMS.values())}
    for term in CTCAETerm.objects.exclude(meddra_code=None):
        assert term.term in known, term.term
        assert term.meddra_code == known[term.term].meddra_llt_code
        assert term.code_to_verify == known[term.term].code_to_verify
    blank = CTCAETerm.objects.filter(meddra_code=None)
    assert blank.exists() and not blank.filter(code_to_verify=False).exists()
    load = CTCAELoad.objects.get(source="shipped")
    assert load.loaded_by is None and load.created == load.total == CTCAETerm.objects.count()


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return register_and_consent(site_a, coordinator_a, investigator_a)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_nci_file_replaces_the_subset_keeping_terms_in_use(fmt, subject, coordinator_a, tmp_path):
    used = CTCAETerm.objects.get(term="Headache")
    save_adverse_event(
        subject,
        actor=coordinator_a,
        values={"term": used, "onset_date": subject.screening_date, "grade": 1},
    )
    content = (xlsx if fmt == "xlsx" else csv_bytes)(FEVER, NAUSEA, CRS, NEW)
    path = tmp_path / f"CTCAE_v5.0.{fmt}"
    path.write_bytes(content)
    out = io.StringIO()
    call_command("load_ctcae", str(path), "--user", coordinator_a.username, stdout=out)
    assert "1 added" in out.getvalue()
    names = set(CTCAETerm.objects.values_list("term", flat=True))
    # The file's terms, this study's ASTCT terms, and the term an AE uses — nothing else.
    assert names == {
        "Fever",
        "Nausea",
        "Cytokine release syndrome",
        "Immune effector cell-associated neurotoxicity syndrome",
        "Blurred vision",
        "Headache",
    }
    fever = CTCAETerm.objects.get(term="Fever")
    assert (fever.meddra_code, fever.code_to_verify, fever.source) == (
        10016558, False, "NCI CTCAE v5.0 file")  # fmt: skip
    assert CTCAETerm.objects.get(term="Nausea").grade_1 == "Loss of appetite"
    crs = CTCAETerm.objects.get(term="Cytokine release syndrome")
    assert crs.grading_scale == "astct_2019" and "vasopressor" in crs.grade_3
    assert (crs.meddra_code, crs.code_to_verify) == (10052015, False)
    assert CTCAETerm.objects.get(term="Blurred vision").max_grade == 3
    assert AdverseEvent.objects.get(subject=subject).term_id == used.pk
    load = CTCAELoad.objects.get(source="nci_file")
    assert load.loaded_by == coordinator_a and len(load.sha256) == 64
    assert (load.created, load.kept_in_use, load.total) == (1, 1, 6)
    assert load.removed == CTCAELoad.objects.get(source="shipped").total - 5


def test_a_second_load_of_the_same_file_changes_nothing():
    content = csv_bytes(FEVER, NAUSEA)
    load_ctcae_file(content, "CTCAE_v5.0.csv")
    again = load_ctcae_file(content, "CTCAE_v5.0.csv")
    assert (again.created, again.updated, again.removed) == (0, 0, 0)
    assert again.unchanged == 4  # Fever, Nausea, CRS and ICANS


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"a,b,c\n1,2,3\n", "terms.csv", "No heading row"),
        (csv_bytes(["x", "Investigations", "Foo", "", "", "", "", "", "", ""]), "t.csv",
         "not a number"),
        (csv_bytes(["", "", "Foo", "", "", "", "", "", "", ""]), "t.csv", "SOC"),
        (csv_bytes(FEVER, FEVER), "t.csv", "appears twice"),
        (b"not a zip file", "t.xlsx", "Not a readable XLSX"),
        (b"x", "t.pdf", ".xlsx or .csv"),
    ],
)  # fmt: skip
def test_a_file_not_in_nci_layout_is_refused_and_nothing_changes(content, name, message):
    before = CTCAETerm.objects.count()
    with pytest.raises(TermFileError, match=message):
        load_ctcae_file(content, name)
    assert CTCAETerm.objects.count() == before
    assert not CTCAELoad.objects.filter(source="nci_file").exists()


def test_the_command_reports_a_bad_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\n")
    with pytest.raises(CommandError, match="No heading row"):
        call_command("load_ctcae", str(path))
    with pytest.raises(CommandError, match="No such file"):
        call_command("load_ctcae", str(tmp_path / "missing.xlsx"))


def test_the_term_search_finds_terms_by_word_with_their_grades(client, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("safety:ctcae-term-search")
    results = client.get(url, {"q": "fever"}).json()["results"]
    assert results[0]["term"] == "Fever"
    assert results[0]["grades"][0] == {
        "grade": 1, "text": "38.0 - 39.0 degrees C (100.4 - 102.2 degrees F)"}  # fmt: skip
    found = [r["term"] for r in client.get(url, {"q": "count decreased"}).json()["results"]]
    assert "Neutrophil count decreased" in found and "Fever" not in found
    by_soc = client.get(url, {"q": "infestations lung"}).json()["results"]
    assert [r["term"] for r in by_soc] == ["Lung infection"]
    one = client.get(url, {"id": results[0]["id"]}).json()["results"]
    assert [r["term"] for r in one] == ["Fever"]
    assert client.get(url, {"id": "x"}).status_code == 400


def test_the_term_search_is_for_study_members(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("safety:ctcae-term-search"), {"q": "fever"}).status_code in (
        403, 404)  # fmt: skip


def test_data_managers_see_the_codes_to_verify_on_the_terms_page(client, data_manager):
    client.force_login(data_manager)
    page = client.get(reverse("safety:ctcae-terms"), {"to_verify": "no"})
    terms = {t.term for t in page.context["page"]}
    assert "Neutrophil count decreased" in terms and "Platelet count decreased" not in terms
    html = page.content.decode()
    assert "from NCI&#x27;s file" in html or "from NCI's file" in html
    wanted = {"to_verify": "yes", "soc": "Investigations"}
    verify = client.get(reverse("safety:ctcae-terms"), wanted)
    assert all(t.code_to_verify and t.soc == "Investigations" for t in verify.context["page"])
    assert "ctcae_v5_subset.csv" in verify.content.decode()  # the load history
