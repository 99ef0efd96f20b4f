"""Clinic staff: their access to the admin, signing in, and their authenticator app."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.http import Http404, HttpRequest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from recovery import access
from recovery.models import Clinician, User

STAFF_GROUP = "Clinic staff"
# What clinic staff may do in the admin (always within their own clinic): read. The audit
# rows only for clinic admins (recovery/admin.py), as on the clinic's pages.
STAFF_PERMISSIONS = [
    "view_patient",
    "view_treatment",
    "view_checkin",
    "view_auditevent",
]


def staff_group() -> Group:
    group, _ = Group.objects.get_or_create(name=STAFF_GROUP)
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="recovery", codename__in=STAFF_PERMISSIONS
        )
    )
    return group


def give_admin_access(user: User) -> None:
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(staff_group())


# Signing in ------------------------------------------------------------------------------


def sign_in_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The account a sign-in attempt is counted against (django-axes' AXES_USERNAME_CALLABLE).

    Emails are case-insensitive, so "Nurse@Clinic.example" and "nurse@clinic.example"
    share one count, on the clinic's sign-in page ("email") and the admin's ("username").
    """
    value = (credentials or {}).get("username") or request.POST.get("username")
    value = value or request.POST.get("email")
    return str(value).strip().lower() if value else None


def account_username(email: str) -> str:
    """The username to check a password against: a clinician's username is their email,
    whatever its case. An unknown email stays as typed, lower-cased."""
    email = email.strip()
    matches = list(
        User.objects.filter(username__iexact=email).values_list("username", flat=True)[:2]
    )
    return matches[0] if len(matches) == 1 else email.lower()


def signed_in_clinician(request: HttpRequest) -> Clinician | None:
    """The signed-in user's clinician row (with clinic and user), or None for anyone else."""
    try:
        return access.clinician_for_request(request)
    except Http404:
        return None


def needs_code(request: HttpRequest, clinician: Clinician) -> bool:
    """True while a clinician of a clinic that asks for an authenticator code hasn't given one
    in this session (django-otp's OTPMiddleware marks the session verified)."""
    if not clinician.clinic.requires_two_factor:
        return False
    is_verified = getattr(request.user, "is_verified", None)
    return not (callable(is_verified) and is_verified())


# The authenticator app -------------------------------------------------------------------


def confirmed_device(user: User) -> Any:
    """The clinician's authenticator app (a confirmed TOTPDevice), or None if none is set up."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def pending_device(user: User, secret: str) -> Any:
    """The authenticator app being set up with `secret` (hex), not saved until confirmed."""
    return TOTPDevice(user=user, key=secret, name="Authenticator app", confirmed=False)


class AlreadySetUp(Exception):
    """The clinician confirmed another authenticator app meanwhile (another tab, say)."""


def confirm_authenticator(*, user: User, secret: str, code: str, at: dt.datetime) -> Any:
    """Save the authenticator app being set up with `secret` once `code` (6 digits) shows
    the app has it; the confirmed device, or None if the code is wrong at `at`.

    One app per clinician, even if two set-ups are confirmed at once: AlreadySetUp (and
    nothing saved) if one was confirmed first. The code cannot be used again.
    """
    device = pending_device(user, secret)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at.timestamp()
    if not totp.verify(int(code), tolerance=device.tolerance):
        return None
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        if confirmed_device(user) is not None:
            raise AlreadySetUp
        device.last_t = totp.t()  # this code can't be used again
        device.drift = totp.drift
        device.confirmed = True
        device.save()
    return device
