"""The installable app: manifest, icons, the service worker at the root, and what the
check-in page carries for offline use."""

from __future__ import annotations

import datetime as dt
import json
import re
import struct
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from recovery.models import Clinic, Patient, Treatment

STATIC = Path(settings.BASE_DIR) / "static"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def static_path(url: str) -> Path:
    assert url.startswith("/static/")
    return STATIC / url.removeprefix("/static/")


def test_manifest_for_anyone(client: Client, db: None) -> None:
    response = client.get("/manifest.webmanifest")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == "Aftercare"
    assert manifest["short_name"] == "Aftercare"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert icon["type"] == "image/png"
        width, height = png_size(static_path(icon["src"]))
        assert f"{width}x{height}" == icon["sizes"]


def test_manifest_names_the_signed_in_patients_clinic(
    patient_client: Client, clinic: Clinic
) -> None:
    response = patient_client.get("/manifest.webmanifest")

    assert json.loads(response.content)["name"] == f"Aftercare · {clinic.name}"
    assert "private" in response["Cache-Control"]


def test_service_worker_is_served_from_the_root(client: Client, db: None) -> None:
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    version = re.search(r'^const VERSION = "([0-9a-f]{16})";$', body, re.MULTILINE)
    assert version is not None
    shell = re.search(r"^const SHELL = (\[.*\]);$", body, re.MULTILINE)
    assert shell is not None
    urls = json.loads(shell.group(1))
    assert "/static/css/app.css" in urls
    assert "/static/js/offline.js" in urls
    # The patient's pages load no htmx (the clinic's do, and are never cached).
    assert not any("htmx" in url or "clinic.css" in url for url in urls)
    for url in urls:
        assert static_path(url).exists()
    imports = re.search(r"^const IMPORTS = (\[.*\]);$", body, re.MULTILINE)
    assert imports is not None
    assert "/static/js/offline.js" in json.loads(imports.group(1))
    # The same files give the same version; the clinic's pages are never cached.
    assert client.get("/sw.js").content.decode() == body
    assert "/clinic" not in re.sub(r"//.*|/\*[\s\S]*?\*/", "", body)


def test_service_worker_version_follows_the_static_files(
    client: Client, db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recovery.views import pwa

    before = client.get("/sw.js").content.decode()
    changed = tmp_path / "sw.js"
    changed.write_text(pwa.SW_SOURCE.read_text() + "\n// a new deploy\n")
    monkeypatch.setattr(pwa, "SW_SOURCE", changed)

    after = client.get("/sw.js").content.decode()

    version = re.compile(r'^const VERSION = "(\w+)";$', re.MULTILINE)
    assert version.search(before) and version.search(after)
    assert version.search(before).group(1) != version.search(after).group(1)  # type: ignore[union-attr]


def test_base_page_links_manifest_and_offline_script(client: Client, db: None) -> None:
    html = client.get("/sign-in/").content.decode()

    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert '<meta name="theme-color" content="#0b5cad">' in html
    assert '<script src="/static/js/offline.js" defer></script>' in html


def test_check_in_page_carries_the_clinic_contact(
    patient_client: Client, clinic: Clinic, patient: Patient, treatment: Treatment
) -> None:
    clinic.after_hours_phone = "+1 555 0199"
    clinic.save()

    html = patient_client.get("/check-in/").content.decode()

    assert '<script src="/static/js/offline.js" defer></script>' in html
    found = re.search(
        r'<script id="clinic-contact" type="application/json">(.*?)</script>', html, re.DOTALL
    )
    assert found is not None
    contact = json.loads(found.group(1))
    assert contact["clinic"] == clinic.name
    # offline.js dates a check-in kept on the phone by the phone's clock in this zone.
    assert contact["time_zone"] == patient.time_zone == "America/New_York"
    assert contact["phone_uri"] == clinic.phone_uri
    assert contact["after_hours_uri"] == clinic.after_hours_uri
    assert contact["emergency_uri"] == clinic.emergency_uri
    assert contact["urgent_headline"] == (
        f"Contact {clinic.name} now — you need to be seen in person today"
    )
    assert contact["call_emergency"] == f"Call {clinic.emergency_number} now"
    assert contact["call_clinic"] == f"Call {clinic.name}: {clinic.phone}"
    assert contact["call_after_hours"] == "Clinic closed? Call +1 555 0199"
    assert set(contact["emergency_flags"]) == {"vision", "stroke", "allergy"}
    assert contact["flag_lines"]["vision"] == "You told us about a change in your eyesight or eyes."
    assert contact["saved"] == ("Saved on this phone — it will be sent when you are back online")
    # No inline script that could run: only JSON.
    assert re.findall(r"<script(?![^>]*(?:src=|application/json))", html) == []


def test_only_todays_check_in_is_dated_by_the_phone_when_kept_offline(
    patient_client: Client, patient: Patient, treatment: Treatment
) -> None:
    today = patient.today()
    yesterday = today - dt.timedelta(days=1)
    form = re.compile(r'<form method="post" action="/check-in/[^"]*" class="check-in-form"([^>]*)>')

    todays = form.search(patient_client.get("/check-in/?first=red_flags").content.decode())
    yesterdays = form.search(patient_client.get(f"/check-in/?date={yesterday}").content.decode())

    assert todays is not None and yesterdays is not None
    assert " data-for-today " in todays.group(1)
    assert f'data-day="{treatment.day_on(today)}"' in todays.group(1)
    assert "data-for-today" not in yesterdays.group(1)
    assert f'data-day="{treatment.day_on(yesterday)}"' in yesterdays.group(1)


def test_clinic_pages_do_not_load_the_offline_script(client: Client, clinician: object) -> None:
    client.force_login(clinician)  # type: ignore[arg-type]
    response = client.get("/clinic/", follow=True)

    assert "/static/js/offline.js" not in response.content.decode()
