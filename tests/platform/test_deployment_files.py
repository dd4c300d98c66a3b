"""The files that start trialsite in production: docker-compose.yml, the Makefile (issue 9 §4)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose_config(**environment: str) -> subprocess.CompletedProcess:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (CI installs it)")
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "AUDIT_ANCHOR_KEY")}
    return subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        env={**clean, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_compose_service_seeds_the_demo():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, service in services.items():
        command = service.get("command") or ""
        command = " ".join(command) if isinstance(command, list) else command
        assert "seed_demo" not in command, name
        assert "DEMO_PASSWORD" not in (service.get("environment") or {}), name


def test_compose_refuses_to_start_without_a_secret_key():
    result = compose_config(AUDIT_ANCHOR_KEY="k" * 40)
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


def test_compose_passes_the_operators_keys_and_has_no_public_fallback():
    key, anchor = "operator-key-" + "x1y2z3" * 8, "operator-anchor-" + "p9q8" * 6
    result = compose_config(SECRET_KEY=key, AUDIT_ANCHOR_KEY=anchor)
    assert result.returncode == 0, result.stderr
    assert key in result.stdout and anchor in result.stdout
    assert "change-me" not in (ROOT / "docker-compose.yml").read_text()


def make_dry_run(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_seeds_the_demo_by_default():
    assert "manage.py seed_demo" in make_dry_run()


def test_make_run_with_demo_false_does_not_seed():
    commands = make_dry_run("DEMO=false")
    assert "manage.py migrate" in commands
    assert "manage.py seed_demo" not in commands
    assert "manage.py runserver" in commands
