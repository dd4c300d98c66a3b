"""Configuration from the environment: clear one-line errors and the production deploy check."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from trialsite import env

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET_KEY"))}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "trialsite.settings", **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_a_secret_is_one_clear_line():
    result = manage("check", DJANGO_ENV="production", ALLOWED_HOSTS="edc.example.org")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "trialsite: configuration error: SECRET_KEY is required when DJANGO_ENV=production "
        "(set SECRET_KEY or SECRET_KEY_FILE to at least 50 random characters)."
    )


def test_production_passes_the_deploy_check_at_warning_level():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        AUDIT_ANCHOR_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS="edc.example.org",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_malformed_database_url_is_one_clear_line():
    result = manage("check", DATABASE_URL="nonsense")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "trialsite: configuration error: DATABASE_URL has an unknown scheme: nonsense"
    )
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_clear_line():
    result = manage("migrate", DATABASE_URL="postgres://nobody@127.0.0.1:1/none")
    assert result.returncode != 0
    assert result.stderr.startswith("trialsite: cannot reach the database (DATABASE_URL):")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("0", False), ("Yes", True)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env.env_bool("SOME_FLAG", default=not expected) is expected


def test_env_helpers_refuse_what_they_do_not_understand(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG='maybe' is not a boolean"):
        env.env_bool("SOME_FLAG", default=False)
    monkeypatch.setenv("SOME_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env.env_int("SOME_INT", 1)


def test_secrets_can_come_from_a_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cr3t\n")
    monkeypatch.setenv("API_TOKEN_FILE", str(secret_file))
    assert env.env_secret("API_TOKEN") == "s3cr3t"


# --- Production refuses what is public (issue 9 §4) ----------------------------------------------


def production(*args: str, **environment: str) -> subprocess.CompletedProcess:
    keys = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "AUDIT_ANCHOR_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "edc.example.org",
    }
    return manage(*args, DJANGO_ENV="production", **{**keys, **environment})


@pytest.mark.parametrize(
    "key",
    [
        "change-me-change-me-change-me-change-me-change-me-change-me",  # the old compose fallback
        "dev-only-insecure-key-do-not-use-in-production-0123456789abcdefghij",  # settings.py
        "build-only-build-only-build-only-build-only-build-only",  # the old Dockerfile key
        "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc",
    ],
)
def test_production_refuses_a_secret_key_written_in_the_repository(key):
    result = production("check", "--deploy", SECRET_KEY=key)
    assert result.returncode != 0
    assert result.stderr.startswith(
        "trialsite: configuration error: SECRET_KEY is refused in production:"
    )
    assert "secrets.token_urlsafe(50)" in result.stderr


def test_production_refuses_the_old_compose_audit_anchor_key():
    result = production("check", AUDIT_ANCHOR_KEY="change-me-audit-anchor-key-change-me")
    assert result.returncode != 0
    assert "AUDIT_ANCHOR_KEY is refused in production: it contains 'change-me'" in result.stderr


def test_production_never_seeds_the_demo(tmp_path):
    result = production("seed_demo", TRIALSITE_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "seed_demo never runs when DJANGO_ENV=production" in result.stderr
    assert "Demo study" not in result.stdout


def test_production_refuses_demo_true():
    result = production("check", DEMO="true")
    assert result.returncode != 0
    assert "DEMO=true is refused when DJANGO_ENV=production" in result.stderr
