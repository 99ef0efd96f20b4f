"""The audit trail: one row for every read and change of a patient's record."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

from recovery.models import AuditAction, AuditEvent, Patient, User


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from: REMOTE_ADDR, or behind PROXY_COUNT proxies of
    ours, the address the outermost one added to X-Forwarded-For (what a client put in the
    header before it is ignored). For the audit trail and the sign-in lock (axes)."""
    count = settings.PROXY_COUNT
    if count:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= count:
            try:
                return str(ipaddress.ip_address(forwarded[-count]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR") or None


def record_event(
    *,
    actor: User | None,
    patient: Patient | None,
    action: AuditAction,
    object_id: object = "",
    ip_address: str | None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor,
        actor_ref=actor.get_username() if actor is not None else "",
        patient=patient,
        patient_ref=patient.public_id if patient is not None else None,
        action=action,
        object_id=str(object_id),
        ip_address=ip_address,
    )


def record_many(
    *,
    actor: User | None,
    patients: Iterable[Patient],
    action: AuditAction,
    object_id: object = "",
    ip_address: str | None,
) -> list[AuditEvent]:
    """The same event for each of many patients (an export names all it holds), at once;
    each row keeps who and which patient, as record_event's do."""
    return AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=actor,
            actor_ref=actor.get_username() if actor is not None else "",
            patient=patient,
            patient_ref=patient.public_id,
            action=action,
            object_id=str(object_id),
            ip_address=ip_address,
        )
        for patient in patients
    )


def record(
    request: HttpRequest, *, patient: Patient, action: AuditAction, object_id: object = ""
) -> AuditEvent:
    """Record what the signed-in user of `request` did to `patient`'s record."""
    actor = request.user if isinstance(request.user, User) else None
    return record_event(
        actor=actor,
        patient=patient,
        action=action,
        object_id=object_id,
        ip_address=client_ip(request),
    )


def patient_deleted(sender: type[Patient], instance: Patient, **kwargs: object) -> None:
    """A patient's record deleted (in the admin, or a shell): the deletion is on the trail,
    and the trail's rows keep the patient's public id."""
    record_event(
        actor=None,
        patient=instance,
        action=AuditAction.PATIENT_DELETED,
        object_id=instance.public_id,
        ip_address=None,
    )


def user_deleted(sender: type[User], instance: User, **kwargs: object) -> None:
    """A user account deleted: recorded with its username, which the trail's rows keep."""
    record_event(
        actor=None,
        patient=None,
        action=AuditAction.USER_DELETED,
        object_id=instance.get_username(),
        ip_address=None,
    )
