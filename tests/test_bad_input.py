"""Input that used to answer 500: every one gets a 4xx now, and nothing is stored (issue 10).

Run on SQLite and PostgreSQL (make test in CI): PostgreSQL is the one that cannot store
or compare a NUL in text, or a key longer than its column.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from recovery.models import Patient, PushSubscription, User

pytestmark = pytest.mark.django_db


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def a_subscription(**changes: Any) -> dict[str, Any]:
    """A browser's PushSubscription.toJSON(), with `changes`."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    keys = {"p256dh": b64url(point), "auth": b64url(os.urandom(16)), **changes.pop("keys", {})}
    return {"endpoint": "https://push.example/send/abc", "keys": keys, **changes}


def test_a_good_subscription_is_taken(patient_client: Client) -> None:
    """The refusals below are of what is wrong in each, not of the whole."""
    body = json.dumps(a_subscription())
    response = patient_client.post("/push/subscriptions/", body, content_type="application/json")
    assert response.status_code == 201
    assert PushSubscription.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="deeply nested JSON"),
        pytest.param('{"endpoint": "' + "x" * 5000 + '"}', id="a body too long"),
    ],
)
def test_a_subscription_body_that_is_not_one_is_refused(patient_client: Client, body: str) -> None:
    response = patient_client.post("/push/subscriptions/", body, content_type="application/json")
    assert response.status_code == 400
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"endpoint": "https://[::1"}, id="a broken IPv6 address"),
        pytest.param({"endpoint": "https://push.example/\x00"}, id="a NUL in the endpoint"),
        pytest.param({"endpoint": "https://push.example/a b"}, id="a space in the endpoint"),
        pytest.param({"keys": {"auth": "A" * 22 + "!" * 200}}, id="an auth key too long"),
        pytest.param({"keys": {"p256dh": "B" * 500}}, id="a p256dh key too long"),
        pytest.param({"keys": {"auth": "AAAAAAAAAAAAAAAAAAAA\x00AA"}}, id="a NUL in a key"),
    ],
)
def test_a_subscription_with_a_bad_endpoint_or_key_is_refused(
    patient_client: Client, changes: dict[str, Any]
) -> None:
    body = json.dumps(a_subscription(**changes))
    response = patient_client.post("/push/subscriptions/", body, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()
    assert not PushSubscription.objects.exists()


def test_forgetting_a_subscription_with_a_nul_in_its_endpoint_is_refused(
    patient_client: Client,
) -> None:
    body = json.dumps({"endpoint": "https://push.example/\x00"})
    response = patient_client.delete("/push/subscriptions/", body, content_type="application/json")
    assert response.status_code == 400


@pytest.fixture
def desk(clinician: User) -> Client:
    desk = Client()
    desk.force_login(clinician)
    return desk


@pytest.mark.parametrize(
    "path",
    [
        "/clinic/?q=%00",
        "/clinic/?q=Ana%00",
        "/clinic/?level=%00",
        "/admin/recovery/patient/?q=%00",
        "/admin/recovery/auditevent/?action__exact=%00",
    ],
)
def test_a_nul_in_a_query_is_refused(
    desk: Client, clinician: User, patient: Patient, path: str
) -> None:
    from recovery.clinicians import give_admin_access

    give_admin_access(clinician)
    response = desk.get(path)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_a_nul_in_a_form_value_is_refused_and_nothing_is_saved(
    patient_client: Client, treatment: object
) -> None:
    response = patient_client.post("/check-in/", {"date": "2026-11-25", "note": "a\x00b"})
    assert response.status_code == 400
    assert not patient_client.session.is_empty()


def test_no_page_is_kept_by_browser_or_proxy_caches(
    patient_client: Client, desk: Client, patient: Patient
) -> None:
    """Health data pages sent no Cache-Control before."""
    for client, path in [
        (patient_client, "/"),
        (patient_client, "/check-in/"),
        (patient_client, "/my-recovery/"),
        (patient_client, "/reminders/"),
        (desk, "/clinic/"),
        (desk, f"/clinic/patients/{patient.public_id}/"),
        (Client(), "/sign-in/"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        cache_control = response["Cache-Control"]
        assert "no-store" in cache_control and "private" in cache_control, path
