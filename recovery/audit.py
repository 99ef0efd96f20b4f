"""The audit trail: one row for every read and change of a patient's record."""

from __future__ import annotations

from django.http import HttpRequest

from recovery.models import AuditAction, AuditEvent, Patient, User


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from (REMOTE_ADDR; set by the proxy in production)."""
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
        patient=patient,
        action=action,
        object_id=str(object_id),
        ip_address=ip_address,
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
