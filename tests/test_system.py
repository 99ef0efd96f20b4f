import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsFixture

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_answers_ok_without_the_database(client: Client) -> None:
    # No `db` fixture: any query here would raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_healthz_needs_no_sign_in_but_other_pages_do(client: Client, db: None) -> None:
    assert client.get("/healthz").status_code == 200
    response = client.get("/check-in/")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-secret-key-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "aftercare.example.com",
    "SITE_URL": "https://aftercare.example.com",
}


def test_deploy_check_is_clean_with_production_values() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _manage("check", **{**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("LOGIN_LINK_MAX_AGE_HOURS", "three", "LOGIN_LINK_MAX_AGE_HOURS must be a whole number"),
        ("TIME_ZONE", "Mars/Olympus", "TIME_ZONE must be an IANA time zone"),
    ],
)
def test_bad_settings_values_are_named(name: str, value: str, message: str) -> None:
    result = _manage("check", **{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_secrets_can_be_given_as_files(tmp_path: Path) -> None:
    """As containers and systemd credentials give them (issue 10)."""
    key = tmp_path / "secret_key"
    key.write_text("a-long-random-production-secret-key-from-a-file-0123456789abcdef\n")
    env = {**PRODUCTION, "SECRET_KEY": "", "SECRET_KEY_FILE": str(key)}
    result = _manage(
        "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)", **env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("from-a-file-0123456789abcdef")
    password = tmp_path / "smtp"
    password.write_text("s3cret")
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.MAILERS['default']['OPTIONS'])",
        **{**env, "EMAIL_HOST_PASSWORD_FILE": str(password)},
    )
    assert "s3cret" in result.stdout, result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"SECRET_KEY_FILE": "/nonexistent/secret"}, "SECRET_KEY_FILE: cannot read"),
        ({"SECRET_KEY_FILE": "EMPTY"}, "is empty"),
        ({"SECRET_KEY_FILE": "KEY", "SECRET_KEY": "also-set"}, "not both"),
    ],
)
def test_a_bad_secret_file_is_named(tmp_path: Path, extra: dict[str, str], message: str) -> None:
    (tmp_path / "empty").write_text("")
    (tmp_path / "key").write_text("x" * 60)
    paths = {"EMPTY": str(tmp_path / "empty"), "KEY": str(tmp_path / "key")}
    extra = {name: paths.get(value, value) for name, value in extra.items()}
    result = _manage("check", **{**PRODUCTION, "SECRET_KEY": "", **extra})
    assert result.returncode != 0
    assert message in result.stderr


def test_healthz_answers_plain_http_when_https_is_required(
    client: Client, settings: SettingsFixture
) -> None:
    """A load balancer's plain-HTTP health check got 301 before."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/sign-in/").status_code == 301


def test_pages_are_compressed_for_phones_that_accept_it(client: Client, db: None) -> None:
    """Issue 11: the HTML went uncompressed (13.5 KB of the check-in page's cold load)."""
    from tests import factories

    patient = factories.create_patient(clinic=factories.create_clinic())
    factories.create_treatment(patient=patient, treated_on=patient.today())
    client.force_login(patient.user)
    plain = client.get("/check-in/")
    packed = client.get("/check-in/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert len(packed.content) < len(plain.content) / 3
