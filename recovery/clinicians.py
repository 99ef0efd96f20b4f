"""Clinic staff. Until the clinic dashboard exists they enroll patients in the admin."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.http import Http404, HttpRequest

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
