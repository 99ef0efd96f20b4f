"""Clinic staff. Until the clinic dashboard exists they enroll patients in the admin."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from recovery.models import User

STAFF_GROUP = "Clinic staff"
# What clinic staff may do in the admin (always within their own clinic).
STAFF_PERMISSIONS = [
    "add_patient",
    "change_patient",
    "view_patient",
    "add_treatment",
    "change_treatment",
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
