"""Configuration of the audit anchors' key and of the two database roles (issue 9 §1)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from trialsite.records.management.commands.migrate import Command as MigrateCommand

ROOT = Path(__file__).resolve().parents[2]
PREFIXES = ("DJANGO_", "SECRET_KEY", "AUDIT_ANCHOR_KEY", "DATABASE_URL", "MIGRATION_DATABASE_URL")


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "trialsite.settings", **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "edc.example.org",
}


def test_production_without_an_anchor_key_is_one_clear_line():
    result = manage("check", **PRODUCTION)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "trialsite: configuration error: AUDIT_ANCHOR_KEY is required when "
        "DJANGO_ENV=production (set AUDIT_ANCHOR_KEY or AUDIT_ANCHOR_KEY_FILE to at least 32 "
        "random characters)."
    )


def test_production_refuses_a_short_anchor_key():
    result = manage("check", AUDIT_ANCHOR_KEY="short", **PRODUCTION)
    assert result.stderr.strip() == (
        "trialsite: configuration error: AUDIT_ANCHOR_KEY must be at least 32 characters in "
        "production."
    )


def test_the_anchor_key_can_come_from_a_secrets_file(tmp_path):
    key_file = tmp_path / "anchor-key"
    key_file.write_text(secrets.token_urlsafe(32) + "\n")
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        AUDIT_ANCHOR_KEY_FILE=str(key_file),
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr


def test_the_migration_role_must_use_the_same_database(tmp_path):
    result = manage(
        "check",
        DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}",
        MIGRATION_DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite3'}",
    )
    assert result.stderr.strip() == (
        "trialsite: configuration error: MIGRATION_DATABASE_URL must name the same database as "
        "DATABASE_URL (only the role differs)."
    )


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_migrate_runs_as_the_owner_role_when_one_is_configured(settings):
    parser = MigrateCommand().create_parser("manage.py", "migrate")
    assert parser.parse_args([]).database == "default"

    settings.DATABASES = {**settings.DATABASES, "owner": settings.DATABASES["default"]}
    parser = MigrateCommand().create_parser("manage.py", "migrate")
    assert parser.parse_args([]).database == "owner"
    assert parser.parse_args(["--database", "default"]).database == "default"
