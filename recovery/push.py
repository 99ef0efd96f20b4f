"""Web Push: checking a browser's subscription, and sending it an encrypted message.

Messages are encrypted for the subscription (RFC 8291, aes128gcm) and signed with the
site's VAPID key (RFC 8292) by pywebpush. They carry no health details: see
recovery.reminders for what they say.
"""

from __future__ import annotations

import base64
import binascii
import enum
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.utils import timezone
from pywebpush import WebPushException, webpush

from recovery.models import PushSubscription

TIMEOUT_SECONDS = 10
# How long the push service keeps a message for a phone that is off: a reminder
# is stale after a few hours.
TTL_SECONDS = 6 * 3600


class InvalidSubscription(ValueError):
    """The browser's subscription JSON can't be used."""


@dataclass(frozen=True)
class SubscriptionData:
    endpoint: str
    p256dh: str
    auth: str


class Outcome(enum.Enum):
    SENT = "sent"
    GONE = "gone"  # 404/410: the subscription no longer exists; it has been deleted
    FAILED = "failed"


def enabled() -> bool:
    return bool(settings.VAPID_PUBLIC_KEY and settings.VAPID_PRIVATE_KEY)


def _b64url_decode(value: str) -> bytes:
    if not BASE64URL.fullmatch(value):
        raise InvalidSubscription("keys must be base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise InvalidSubscription("keys must be base64url") from None


BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(endpoint: str) -> None:
    """https:// only; http:// on loopback when PUSH_ALLOW_INSECURE_ENDPOINTS (tests, DEBUG)."""
    if len(endpoint) > 2000:
        raise InvalidSubscription("endpoint is too long")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in endpoint):
        raise InvalidSubscription("endpoint must be a URL")  # spaces, NULs, control characters
    try:
        parts = urlsplit(endpoint)
        hostname = parts.hostname
    except ValueError:  # "https://[::1", say
        raise InvalidSubscription("endpoint must be a URL") from None
    if not hostname:
        raise InvalidSubscription("endpoint must be a URL")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and settings.PUSH_ALLOW_INSECURE_ENDPOINTS and _is_loopback(hostname):
        return
    raise InvalidSubscription("endpoint must be an https:// URL")


def parse_subscription(raw: Any) -> SubscriptionData:
    """The JSON a browser's PushSubscription.toJSON() gives, checked."""
    if not isinstance(raw, dict):
        raise InvalidSubscription("expected an object")
    endpoint = raw.get("endpoint")
    keys = raw.get("keys")
    if not isinstance(endpoint, str) or not isinstance(keys, dict):
        raise InvalidSubscription("expected endpoint and keys")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str):
        raise InvalidSubscription("expected keys.p256dh and keys.auth")
    # A P-256 point is 65 bytes (87 base64url characters), the secret 16 (22): with padding,
    # no more than 88 and 24, well within their columns.
    if len(p256dh) > 88 or len(auth) > 24:
        raise InvalidSubscription("keys are too long")
    check_endpoint(endpoint)
    point = _b64url_decode(p256dh)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise InvalidSubscription("keys.p256dh is not a P-256 public key") from None
    if len(_b64url_decode(auth)) != 16:
        raise InvalidSubscription("keys.auth must be 16 bytes")
    return SubscriptionData(endpoint=endpoint, p256dh=p256dh, auth=auth)


def send(subscription: PushSubscription, payload: dict[str, str]) -> Outcome:
    """Send `payload` (JSON) to one subscription; a 404/410 deletes it."""
    if not enabled():
        return Outcome.FAILED
    try:
        check_endpoint(subscription.endpoint)
    except InvalidSubscription:
        subscription.delete()
        return Outcome.GONE
    try:
        webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=json.dumps(payload),
            vapid_private_key=settings.VAPID_PRIVATE_KEY,
            vapid_claims={"sub": settings.VAPID_SUBJECT},
            content_encoding="aes128gcm",
            timeout=TIMEOUT_SECONDS,
            ttl=TTL_SECONDS,
        )
    except WebPushException as error:
        status = getattr(error.response, "status_code", None)
        if status in (404, 410):
            subscription.delete()
            return Outcome.GONE
        subscription.failures += 1
        subscription.save(update_fields=["failures"])
        return Outcome.FAILED
    except requests.RequestException:
        subscription.failures += 1
        subscription.save(update_fields=["failures"])
        return Outcome.FAILED
    subscription.last_success_at = timezone.now()
    subscription.failures = 0
    subscription.save(update_fields=["last_success_at", "failures"])
    return Outcome.SENT
