"""The audit trail: one row for every read and change of a patient's record, and reading it."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest

from recovery.models import (
    Alert,
    AuditAction,
    AuditEvent,
    CheckIn,
    Clinic,
    Patient,
    Treatment,
    User,
    WarningSignReport,
)


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
    patient: Patient | None,
    action: AuditAction,
    object_id: object = "",
    *,
    actor: User | None,
    ip_address: str | None,
) -> AuditEvent:
    """What was done to which patient's record (and to which of its rows), then who did it
    and from where; the admin's reads and changes, a sweep's or a check-in's writes."""
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
    patients: Iterable[Patient],
    action: AuditAction,
    object_id: object = "",
    *,
    actor: User | None,
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


def actor_of(request: HttpRequest) -> User | None:
    """Who the trail names for `request`: its signed-in user (None: nobody signed in)."""
    return request.user if isinstance(request.user, User) else None


def record(
    request: HttpRequest, patient: Patient, action: AuditAction, object_id: object = ""
) -> AuditEvent:
    """Record what the signed-in user of `request` did to `patient`'s record."""
    return record_event(
        patient, action, object_id, actor=actor_of(request), ip_address=client_ip(request)
    )


def patient_deleted(sender: type[Patient], instance: Patient, **kwargs: object) -> None:
    """A patient's record deleted (in the admin, or a shell): the deletion is on the trail,
    and the trail's rows keep the patient's public id."""
    record_event(
        instance, AuditAction.PATIENT_DELETED, instance.public_id, actor=None, ip_address=None
    )


def user_deleted(sender: type[User], instance: User, **kwargs: object) -> None:
    """A user account deleted: recorded with its username, which the trail's rows keep."""
    record_event(
        None, AuditAction.USER_DELETED, instance.get_username(), actor=None, ip_address=None
    )


# Reading the trail -----------------------------------------------------------------------


def trail_of(patient: Patient) -> QuerySet[AuditEvent]:
    """The patient's audit rows, the latest first."""
    return AuditEvent.objects.filter(patient=patient).select_related("actor").order_by("-at", "-id")


def with_names(patient: Patient, events: list[AuditEvent]) -> list[tuple[AuditEvent, str]]:
    """Each of the patient's audit rows with what its identifier names, in words (or the
    identifier itself, for a record that is gone)."""
    names = _record_names(patient, [e.object_id for e in events])
    return [(event, names.get(event.object_id, event.object_id)) for event in events]


def _record_names(patient: Patient, object_ids: list[str]) -> dict[str, str]:
    """What each audit row's identifier names, in words: "check-in of day 5 (25 Nov)".

    One query a kind, whatever the page holds; only this patient's records are named.
    """
    ids = []
    for value in set(object_ids):
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    names = {str(patient.public_id): "this patient's record"}
    for check_in in CheckIn.objects.filter(public_id__in=ids, treatment__patient=patient):
        names[str(check_in.public_id)] = (
            f"check-in of day {check_in.day} ({check_in.local_date:%-d %b})"
        )
    for alert in Alert.objects.filter(public_id__in=ids, treatment__patient=patient):
        names[str(alert.public_id)] = f"{alert.get_level_display().lower()} alert"
    for treatment in Treatment.objects.filter(public_id__in=ids, patient=patient).select_related(
        "product"
    ):
        names[str(treatment.public_id)] = (
            f"session {treatment.session_number}: {treatment.product}, "
            f"{treatment.treated_on:%-d %b %Y}"
        )
    for report in WarningSignReport.objects.filter(public_id__in=ids, treatment__patient=patient):
        names[str(report.public_id)] = f"warning signs sent for {report.local_date:%-d %b}"
    for clinic in Clinic.objects.filter(public_id__in=ids):
        names[str(clinic.public_id)] = clinic.name
    return names
