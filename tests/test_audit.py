"""The audit trail is append-only and keeps who and which patient for ever (issue 10)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from recovery import audit
from recovery.models import AuditAction, AuditEvent, Patient, User
from tests import factories

pytestmark = pytest.mark.django_db


def an_event(patient: Patient, actor: User) -> AuditEvent:
    return audit.record_event(
        patient,
        AuditAction.PATIENT_VIEWED,
        patient.public_id,
        actor=actor,
        ip_address="203.0.113.5",
    )


def test_an_event_keeps_who_and_which_patient_beside_the_links(
    patient: Patient, clinician: User
) -> None:
    event = an_event(patient, clinician)
    assert (event.actor_ref, event.patient_ref) == ("nurse@riverside.example", patient.public_id)
    assert event.get_action_display() == "Viewed the timeline"


def test_events_cannot_be_changed_or_deleted_through_the_app(
    patient: Patient, clinician: User
) -> None:
    event = an_event(patient, clinician)
    with pytest.raises(ValueError, match="cannot be changed"):
        AuditEvent.objects.filter(pk=event.pk).update(action=AuditEvent.Action.ALERT_VIEWED)
    with pytest.raises(ValueError, match="cannot be changed"):
        AuditEvent.objects.update(patient=None, object_id="")
    with pytest.raises(ValueError, match="cannot be deleted"):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(ValueError, match="cannot be deleted"):
        event.delete()
    event.object_id = "changed"
    with pytest.raises(ValueError, match="cannot be changed"):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).object_id == str(patient.public_id)


def test_an_action_outside_the_list_is_refused_by_the_database(patient: Patient) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.create(patient=patient, action="patient.peeked")


def test_deleting_a_patient_is_audited_and_their_trail_keeps_their_id(
    patient: Patient, clinician: User
) -> None:
    an_event(patient, clinician)
    public_id = patient.public_id
    user = patient.user

    patient.delete()
    user.delete()

    trail = AuditEvent.objects.filter(patient_ref=public_id).order_by("pk")
    assert [e.action for e in trail][-2:] == ["patient.viewed", "patient.deleted"]
    assert all(e.patient_id is None for e in trail)
    assert trail.last().object_id == str(public_id)  # type: ignore[union-attr]


def test_deleting_a_user_is_audited_and_their_events_keep_their_name(
    patient: Patient, clinic: object
) -> None:
    colleague = factories.create_clinician(clinic=patient.clinic, email="locum@riverside.example")
    event = an_event(patient, colleague)

    colleague.delete()

    event.refresh_from_db()
    assert (event.actor_id, event.actor_ref) == (None, "locum@riverside.example")
    deleted = AuditEvent.objects.get(action=AuditEvent.Action.USER_DELETED)
    assert deleted.object_id == "locum@riverside.example"


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE recovery_auditevent SET action = 'patient.enrolled' WHERE id = %s",
        "UPDATE recovery_auditevent SET patient_ref = NULL WHERE id = %s",
        "UPDATE recovery_auditevent SET actor_id = NULL, at = now() WHERE id = %s",
        "DELETE FROM recovery_auditevent WHERE id = %s",
    ],
    ids=["change the action", "blank the patient's id", "change the time", "delete"],
)
def test_on_postgresql_the_table_refuses_changes_and_deletions_in_sql(
    patient: Patient, clinician: User, statement: str
) -> None:
    """The trigger of migration 0009: not even raw SQL through the app's role changes a row."""
    event = an_event(patient, clinician)
    with (
        pytest.raises((InternalError, ProgrammingError)),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "patient.viewed"


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_on_postgresql_emptying_a_deleted_users_link_is_the_one_change_allowed(
    patient: Patient, clinician: User
) -> None:
    event = an_event(patient, clinician)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE recovery_auditevent SET actor_id = NULL WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert (event.actor_id, event.actor_ref) == (None, "nurse@riverside.example")


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.66", "10.0.0.2"),  # no proxy of ours: the header is anyone's
        (1, "198.51.100.66", "198.51.100.66"),
        (1, "6.6.6.6, 198.51.100.66", "198.51.100.66"),  # what the client wrote is ignored
        (2, "198.51.100.66, 10.0.0.9", "198.51.100.66"),
        (1, "", "10.0.0.2"),
        (1, "not-an-address", "10.0.0.2"),
    ],
)
def test_the_client_address_is_the_one_our_proxies_saw(
    rf: Any, settings: Any, proxies: int, forwarded: str, expected: str
) -> None:
    """One answer for the audit trail and the sign-in lock (AXES_CLIENT_IP_CALLABLE)."""
    settings.PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert audit.client_ip(request) == expected
