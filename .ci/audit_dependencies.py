"""Dependency audit for CI: pip-audit over the pinned requirements, reported honestly (issue 9 §4).

pip-audit prints "No known vulnerabilities found" even when it could look up none of the packages
(every one "skipped": the PyPI JSON API or OSV was unreachable, or answered 404 through a mirror).
This wrapper runs it with JSON output and says only what was checked:

- a finding: each vulnerable package, its advisory and fix versions; exit 1 (the only non-zero);
- packages that could not be looked up: ``not checked: <reason>``, never "no known
  vulnerabilities" for them; exit 0, so an unreachable service never fails CI;
- packages looked up without finding: ``no known vulnerabilities in N packages``.

Usage: ``python .ci/audit_dependencies.py [REQUIREMENTS_FILE]`` (default ``constraints.txt``, the
full ``pip freeze`` pin list). The JSON shape read here is pip-audit's ``--format json``:
``{"dependencies": [{"name", "version", "vulns": [{"id", "fix_versions", "aliases"}]}
| {"name", "skip_reason"}], "fixes": [...]}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

UNREACHABLE_MARKERS = (
    "ConnectionError",
    "NameResolutionError",
    "Max retries exceeded",
    "timed out",
    "Timeout",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Connection refused",
)
SHOWN_NAMES = 10


@dataclass(frozen=True)
class Verdict:
    exit_code: int
    lines: list[str]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def summarize(report_json: str | None, stderr: str) -> Verdict:
    """What one pip-audit run established; ``report_json`` is ``None`` when it wrote no report."""
    if not report_json:
        if any(marker in stderr for marker in UNREACHABLE_MARKERS):
            reason = f"the vulnerability service is unreachable ({_last_line(stderr)})"
        else:
            reason = f"pip-audit wrote no report ({_last_line(stderr)})"
        return Verdict(0, [f"not checked: {reason}"])
    try:
        dependencies = json.loads(report_json)["dependencies"]
    except (ValueError, KeyError, TypeError) as exc:
        return Verdict(0, [f"not checked: pip-audit's report could not be read ({exc})"])

    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = [d for d in dependencies if not d.get("skip_reason")]

    lines = []
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "none yet"
            aliases = ", ".join(vuln.get("aliases") or [])
            lines.append(
                f"VULNERABLE: {dependency['name']} {dependency.get('version', '?')}: "
                f"{vuln.get('id', '?')}{f' ({aliases})' if aliases else ''}; fixed in: {fixes}"
            )
    if skipped:
        reasons = sorted({d["skip_reason"].split(":")[0] for d in skipped})
        names = ", ".join(d["name"] for d in skipped[:SHOWN_NAMES])
        if len(skipped) > SHOWN_NAMES:
            names += f" and {len(skipped) - SHOWN_NAMES} more"
        if not audited:
            what = f"none of the {len(skipped)} pinned packages could be looked up"
        else:
            what = f"{len(skipped)} of {len(dependencies)} packages could not be looked up"
        lines.append(f"not checked: {what} ({'; '.join(reasons)}): {names}")
    clean = len(audited) - len(vulnerable)
    if audited and not vulnerable:
        lines.append(f"no known vulnerabilities in the {clean} packages that were looked up")
    elif vulnerable:
        lines.append(
            f"{len(vulnerable)} vulnerable package(s); {clean} looked up without a finding"
        )
    if not dependencies:
        lines.append("not checked: pip-audit found no packages in the requirements")
    return Verdict(1 if vulnerable else 0, lines)


def pip_audit_command(requirements: Path, report: Path) -> list[str]:
    # --no-deps --disable-pip: the file pins every package, so nothing is installed or resolved.
    return [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(requirements),
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--timeout",
        "20",
        "--format",
        "json",
        "--output",
        str(report),
    ]


def main(argv: list[str]) -> int:
    requirements = Path(argv[1] if len(argv) > 1 else "constraints.txt")
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "pip-audit.json"
        try:
            result = subprocess.run(
                pip_audit_command(requirements, report),
                capture_output=True,
                text=True,
                timeout=600,
            )
            stderr = result.stderr
        except subprocess.TimeoutExpired:
            stderr = "pip-audit timed out after 600 s"
        report_json = report.read_text() if report.exists() else None
    verdict = summarize(report_json, stderr)
    print("\n".join(verdict.lines))
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
