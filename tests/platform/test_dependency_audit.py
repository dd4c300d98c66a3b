"""CI's dependency audit (.ci/audit_dependencies.py) says only what pip-audit could check.

Fed pip-audit's real ``--format json`` outputs: a run where no package could be looked up (the
vulnerability service unreachable through a mirror) must print "not checked", never "no known
vulnerabilities"; only a real finding makes CI fail.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "audit_dependencies", ROOT / ".ci" / "audit_dependencies.py"
)
audit = importlib.util.module_from_spec(_spec)
sys.modules["audit_dependencies"] = audit
_spec.loader.exec_module(audit)

NOT_FOUND = "Dependency not found on PyPI and could not be audited: {} ({})"


def report(*dependencies: dict) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def skipped(name: str, version: str) -> dict:
    return {"name": name, "skip_reason": NOT_FOUND.format(name, version)}


def clean(name: str, version: str) -> dict:
    return {"name": name, "version": version, "vulns": []}


def test_nothing_looked_up_is_not_checked_and_never_no_known_vulnerabilities():
    # What pip-audit 2.10.1 writes when PyPI's JSON API answers 404 for everything (it also
    # prints "No known vulnerabilities found" on stderr, which the wrapper does not repeat).
    verdict = audit.summarize(
        report(skipped("django", "5.2.19"), skipped("celery", "5.7.0")),
        "No known vulnerabilities found\n",
    )
    assert verdict.exit_code == 0
    text = "\n".join(verdict.lines)
    assert text.startswith("not checked: none of the 2 pinned packages could be looked up")
    assert "no known vulnerabilities" not in text.lower()


def test_an_unreachable_service_without_a_report_is_not_checked_and_does_not_fail():
    stderr = (
        "Traceback (most recent call last):\n  ...\nrequests.exceptions.ConnectionError: "
        "HTTPSConnectionPool(host='api.osv.dev', port=443): Max retries exceeded with url: "
        "/v1/query (Caused by NameResolutionError(...))\n"
    )
    verdict = audit.summarize(None, stderr)
    assert verdict.exit_code == 0
    assert len(verdict.lines) == 1
    assert verdict.lines[0].startswith(
        "not checked: the vulnerability service is unreachable (requests.exceptions."
    )


def test_a_known_vulnerability_fails_with_its_advisory_and_fix():
    vulnerable = {
        "name": "django",
        "version": "5.2.1",
        "vulns": [{"id": "PYSEC-2025-1", "fix_versions": ["5.2.2"], "aliases": ["CVE-2025-1"]}],
    }
    verdict = audit.summarize(report(vulnerable, clean("celery", "5.7.0")), "")
    assert verdict.exit_code == 1
    assert verdict.lines[0] == (
        "VULNERABLE: django 5.2.1: PYSEC-2025-1 (CVE-2025-1); fixed in: 5.2.2"
    )
    assert verdict.lines[-1] == "1 vulnerable package(s); 1 looked up without a finding"


def test_a_clean_audit_counts_only_the_packages_it_looked_up():
    verdict = audit.summarize(
        report(clean("django", "5.2.19"), clean("celery", "5.7.0"), skipped("x", "1")), ""
    )
    assert verdict.exit_code == 0
    assert verdict.lines == [
        "not checked: 1 of 3 packages could not be looked up "
        "(Dependency not found on PyPI and could not be audited): x",
        "no known vulnerabilities in the 2 packages that were looked up",
    ]


def test_a_long_skip_list_is_shortened():
    names = [f"pkg{i}" for i in range(15)]
    verdict = audit.summarize(report(*(skipped(n, "1") for n in names)), "")
    assert verdict.lines[0].endswith("pkg9 and 5 more")


def test_an_unreadable_report_is_not_checked():
    verdict = audit.summarize("<html>proxy error</html>", "")
    assert verdict.exit_code == 0
    assert verdict.lines[0].startswith("not checked: pip-audit's report could not be read")


def test_the_audit_installs_nothing_and_reads_the_full_pin_list(tmp_path):
    command = audit.pip_audit_command(ROOT / "constraints.txt", tmp_path / "out.json")
    assert command[1:3] == ["-m", "pip_audit"]
    assert {"--no-deps", "--disable-pip"} <= set(command)
    assert command[command.index("--format") + 1] == "json"
    assert "pip-audit==" in (ROOT / "requirements-dev.txt").read_text()
    assert "audit_dependencies.py constraints.txt" in (ROOT / ".ci" / "run").read_text()
