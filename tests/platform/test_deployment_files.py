"""The files that start trialsite in production: docker-compose.yml, the Makefile (issue 9 §4)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
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


# --- The production image (Dockerfile, requirements-prod.txt) ------------------------------------


def requirement_lines(name: str) -> list[str]:
    text = (ROOT / name).read_text().splitlines()
    return [line.strip() for line in text if line.strip() and not line.startswith("#")]


def dockerfile_stages() -> list[str]:
    """The Dockerfile's stages, each the text from its FROM line to the next."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    stages: list[list[str]] = []
    for line in lines:
        if line.startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return ["\n".join(stage) for stage in stages]


def test_the_production_requirements_swap_only_the_binary_driver_for_the_compiled_one():
    development = requirement_lines("requirements.txt")
    production = requirement_lines("requirements-prod.txt")
    binary = next(line for line in development if line.startswith("psycopg2-binary=="))
    version = binary.split("==")[1]
    assert f"psycopg2=={version}" in production
    assert not any(line.startswith("psycopg2-binary") for line in production)
    assert sorted(set(development) - {binary}) == sorted(set(production) - {f"psycopg2=={version}"})
    assert f"psycopg2=={version}" in requirement_lines("constraints.txt")


def test_the_image_compiles_psycopg2_against_libpq_and_ships_no_binary_wheel():
    *build_stages, runtime = dockerfile_stages()
    assert build_stages, "a build stage compiles the driver"
    build = build_stages[0]
    assert "libpq-dev" in build and "gcc" in build
    assert "--no-binary psycopg2" in build
    assert "-r requirements-prod.txt" in build
    assert "-r requirements-prod.txt" in runtime and "--no-index" in runtime
    assert "libpq5" in runtime
    assert "requirements.txt" not in runtime
    assert "gcc" not in runtime


def test_the_image_collects_static_files_in_production_mode_without_a_written_key():
    runtime = dockerfile_stages()[-1]
    assert "DJANGO_ENV=production" in runtime
    copy_all = runtime.index("COPY . .")
    collect = runtime.index("manage.py collectstatic --noinput")
    assert collect > copy_all
    assert "staticfiles.json" in runtime[collect:]
    assert "secrets.token_urlsafe" in runtime  # a throwaway key, not one written here
    assert "build-only" not in runtime


def test_the_readme_production_section_says_collectstatic_is_required():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### docker-compose", 1)[1].split("\n## ", 1)[0]
    assert "manage.py collectstatic --noinput" in section
    assert "Missing staticfiles manifest entry" in section


SERVE_AFTER_COLLECTSTATIC = """
import django
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("collectstatic", "--noinput", verbosity=0)
response = Client().get("/accounts/login/", HTTP_HOST="edc.example.org", secure=True)
print(response.status_code)
"""


def test_production_pages_render_once_collectstatic_has_run(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    result = subprocess.run(
        [sys.executable, "-c", SERVE_AFTER_COLLECTSTATIC],
        cwd=ROOT,
        env={
            **clean,
            "PYTHONPATH": os.pathsep.join([str(ROOT), clean.get("PYTHONPATH", "")]),
            "DJANGO_SETTINGS_MODULE": "trialsite.settings",
            "DJANGO_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "AUDIT_ANCHOR_KEY": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": "edc.example.org",
            "STATIC_ROOT": str(tmp_path / "static"),
            "TRIALSITE_VAR_DIR": str(tmp_path / "var"),
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200"
    assert (tmp_path / "static" / "staticfiles.json").exists()
