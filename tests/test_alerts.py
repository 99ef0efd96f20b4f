"""Alerts: opened and raised by check-ins, emailed without health details, acknowledged
("I'm calling them") and resolved with an outcome by the clinic.

The rules come from /work/shared/recovery-course.md, "What the clinic sees".
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from recovery import alerts, checkins, course
from recovery.models import Alert, AuditEvent, CheckIn, Clinic, Patient, Treatment, Triage, User
from tests import factories
from tests.helpers import at_local, day, local_moment, text_of

SYMPTOMS = ("swelling", "redness", "bruising", "lumps", "pain", "itching")

CaptureOnCommit = Callable[..., AbstractContextManager[object]]


def check_in_on(
    treatment: Treatment,
    n: int,
    *,
    hour: int = 12,
    flags: Iterable[str] = (),
    rate: bool = True,
    **ratings: int,
) -> CheckIn:
    """The patient's check-in on day `n`, sent that day; `rate=False` is "Something feels
    wrong — tell us now", sent with the red-flag questions only."""
    local_date = day(n)
    with at_local(n, hour):
        return checkins.record_check_in(
            treatment=treatment,
            local_date=local_date,
            answers=course.Answers(
                ratings={s: ratings.get(s, 0) if rate else None for s in SYMPTOMS},
                red_flags=frozenset(flags),
            ),
            entered_by=treatment.patient.user,
            today=local_date,
            at=timezone.now(),
        ).check_in


@pytest.fixture(autouse=True)
def _on_day_5() -> Iterator[None]:
    with at_local(5, 10):
        yield


@pytest.fixture
def clinic(db: None) -> Clinic:
    return factories.create_clinic(alert_email="alerts@riverside.example")


def the_alert() -> Alert:
    return Alert.objects.get()


def acknowledge_path(alert: Alert) -> str:
    return f"/clinic/alerts/{alert.public_id}/acknowledge/"


def resolve_path(alert: Alert) -> str:
    return f"/clinic/alerts/{alert.public_id}/resolve/"


def shown(alert: Alert, **data: str) -> dict[str, str]:
    """A form's data as sent from a page that shows the alert as it is now (its version)."""
    return {"version": str(Alert.objects.get(pk=alert.pk).version), **data}


def patient_path(patient: Patient) -> str:
    return f"/clinic/patients/{patient.public_id}/"


def resolve_directly(alert: Alert, by: User, n: int = 5, hour: int = 13) -> Alert:
    return alerts.resolve_alert(
        alert=alert,
        seen_version=alert.version,
        by=by,
        outcome=Alert.Outcome.ADVISED_AT_HOME,
        note="Called; advised a cold compress.",
        at=local_moment(n, hour),
        ip_address=None,
    )


# Health details an alert email must never carry.
FORBIDDEN_IN_EMAIL = [
    "swelling",
    "redness",
    "bruising",
    "lump",
    "pain",
    "itching",
    "severe",
    "moderate",
    "mild",
    "worse",
    "eyesight",
    "vision",
    "stroke",
    "infection",
    "allergy",
    "allerg",
    "fever",
    "red_flag",
    "Ana",
    "Patient Ana",
    "ana@example.com",
    "1985",
    "Bellafill",
]


def assert_no_health_details(message: mail.EmailMessage, patient: Patient) -> None:
    parts = [str(message.subject), str(message.body)]
    parts += [str(content) for content, _ in getattr(message, "alternatives", [])]
    everything = "\n".join(parts)
    # The link's random identifier may spell anything (a "1985", say): read the words around it.
    words = everything.replace(str(patient.public_id), "")
    for word in [*FORBIDDEN_IN_EMAIL, patient.name]:
        assert word.lower() not in words.lower(), word
    assert f"http://127.0.0.1:8000/clinic/patients/{patient.public_id}/" in everything
    links = re.findall(r"https?://\S+?(?=[\s\"<]|$)", everything)
    assert set(links) == {f"http://127.0.0.1:8000/clinic/patients/{patient.public_id}/"}


# Opening and raising -----------------------------------------------------------------------


def test_a_contact_clinic_check_in_opens_an_alert_and_emails_the_clinic_without_details(
    patient: Patient, treatment: Treatment, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        check_in = check_in_on(treatment, 4, swelling=3)

    alert = the_alert()
    assert (alert.level, alert.reasons, alert.check_in) == (
        "contact_clinic",
        ["severe:swelling"],
        check_in,
    )
    assert alert.opened_at == local_moment(4)
    assert alert.raised_at is None and alert.resolved_at is None
    treatment.refresh_from_db()
    assert treatment.open_alert == alert
    assert treatment.triage == Triage.CONTACT_CLINIC
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alerts@riverside.example"]
    assert "should contact the clinic today" in str(message.body)
    assert_no_health_details(message, patient)


def test_a_later_urgent_check_in_raises_the_alert_and_emails_again(
    patient: Patient, treatment: Treatment, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        check_in_on(treatment, 4, swelling=3)
        urgent = check_in_on(treatment, 5, hour=9, swelling=3, flags=["vision"])

    alert = the_alert()
    assert alert.level == "urgent"
    assert alert.opened_at == local_moment(4)
    assert alert.raised_at == local_moment(5, 9)
    assert alert.check_in == urgent
    assert alert.reasons == ["severe:swelling", "red_flag:vision"]
    treatment.refresh_from_db()
    assert treatment.triage == Triage.URGENT
    assert len(mail.outbox) == 2
    assert "needs a call now" in mail.outbox[1].subject
    assert_no_health_details(mail.outbox[1], patient)


def test_a_later_on_track_check_in_never_lowers_or_closes_the_alert(
    treatment: Treatment, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        check_in_on(treatment, 3, flags=["infection"])
        check_in_on(treatment, 4, swelling=3)  # contact_clinic: lower than urgent
        check_in_on(treatment, 5)  # on track

    alert = the_alert()
    assert (alert.level, alert.resolved_at, alert.raised_at) == ("urgent", None, None)
    treatment.refresh_from_db()
    assert treatment.open_alert == alert
    assert treatment.triage == Triage.URGENT
    assert len(mail.outbox) == 1  # only the opening; nothing was raised


def test_something_feels_wrong_later_the_same_day_raises_the_alert(
    treatment: Treatment, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        morning = check_in_on(treatment, 5, hour=8, swelling=3)
        evening = check_in_on(treatment, 5, hour=19, flags=["skin_color"], rate=False)

    assert evening.pk == morning.pk  # the day's check-in, replaced
    evening.refresh_from_db()
    assert evening.swelling == 3  # the ratings left out keep the morning's
    assert evening.status == "urgent"
    alert = the_alert()
    assert (alert.level, alert.raised_at) == ("urgent", local_moment(5, 19))
    assert len(mail.outbox) == 2


def test_a_watch_check_in_opens_no_alert(treatment: Treatment) -> None:
    check_in_on(treatment, 4, lumps=0)
    check_in_on(treatment, 5, lumps=1)

    assert CheckIn.objects.get(local_date=day(5)).status == "watch"
    assert not Alert.objects.exists()


def test_no_alert_email_address_no_email(
    clinic: Clinic, treatment: Treatment, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    clinic.alert_email = ""
    clinic.save(update_fields=["alert_email"])

    with django_capture_on_commit_callbacks(execute=True):
        check_in_on(treatment, 4, swelling=3)

    assert Alert.objects.count() == 1
    assert mail.outbox == []


def test_only_one_open_alert_per_treatment(treatment: Treatment, second_patient: Patient) -> None:
    check_in_on(treatment, 4, swelling=3)

    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            treatment=treatment, level="urgent", reasons=[], opened_at=local_moment(4, 13)
        )

    # Another treatment may have its own open alert, and a resolved one doesn't count.
    other = second_patient.treatments.get()
    Alert.objects.create(treatment=other, level="urgent", reasons=[], opened_at=local_moment(4))
    Alert.objects.filter(treatment=treatment).update(
        resolved_at=local_moment(4, 14), outcome="referred"
    )
    Alert.objects.create(
        treatment=treatment, level="urgent", reasons=[], opened_at=local_moment(4, 15)
    )
    assert Alert.objects.filter(resolved_at__isnull=True).count() == 2


# Acknowledge and resolve: the domain -------------------------------------------------------


def test_resolving_clears_the_open_alert_and_puts_the_treatment_back_in_its_place(
    treatment: Treatment, clinician: User
) -> None:
    check_in_on(treatment, 4, lumps=0)
    check_in_on(treatment, 5, lumps=2)  # worse: contact clinic
    alert = the_alert()

    resolved = resolve_directly(alert, clinician)

    assert resolved.resolved_at == local_moment(5, 13)
    assert (resolved.resolved_by, resolved.outcome) == (clinician, "advised_at_home")
    # Resolving unacknowledged counts as acknowledging it.
    assert (resolved.acknowledged_by, resolved.acknowledged_at) == (clinician, local_moment(5, 13))
    treatment.refresh_from_db()
    assert treatment.open_alert is None
    # The latest check-in still said "contact clinic": watched, not on track.
    assert treatment.triage == Triage.WATCH
    assert treatment.triage_since == CheckIn.objects.get(local_date=day(5)).updated_at
    event = AuditEvent.objects.get(action="alert.resolved")
    assert (event.actor, event.object_id) == (clinician, str(alert.public_id))


def test_resolving_puts_a_missed_check_in_back_on_the_list(
    treatment: Treatment, clinician: User
) -> None:
    check_in_on(treatment, 1, swelling=3)
    alert = the_alert()

    resolve_directly(alert, clinician, n=5)  # no check-in on days 3 and 4

    treatment.refresh_from_db()
    assert treatment.triage == Triage.MISSED_CHECK_IN


def test_a_new_alert_level_check_in_after_resolution_opens_a_new_alert(
    treatment: Treatment, clinician: User, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        check_in_on(treatment, 3, swelling=3)
    first = the_alert()
    resolve_directly(first, clinician, n=3, hour=15)

    with django_capture_on_commit_callbacks(execute=True):
        check_in_on(treatment, 4, swelling=3)

    assert Alert.objects.count() == 2
    second = Alert.objects.get(resolved_at__isnull=True)
    assert second.pk != first.pk
    assert (second.level, second.opened_at) == ("contact_clinic", local_moment(4))
    first.refresh_from_db()
    assert first.outcome == "advised_at_home"
    treatment.refresh_from_db()
    assert treatment.open_alert == second
    assert treatment.triage == Triage.CONTACT_CLINIC
    assert len(mail.outbox) == 2


def test_the_domain_refuses_twice_and_an_empty_note(treatment: Treatment, clinician: User) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()
    acknowledged = alerts.acknowledge_alert(
        alert=alert,
        seen_version=alert.version,
        by=clinician,
        at=local_moment(5, 9),
        ip_address=None,
    )
    assert (acknowledged.acknowledged_by, acknowledged.acknowledged_at) == (
        clinician,
        local_moment(5, 9),
    )

    with pytest.raises(alerts.AlertRefused, match="already acknowledged"):
        alerts.acknowledge_alert(
            alert=alert,
            seen_version=alert.version,
            by=clinician,
            at=local_moment(5, 10),
            ip_address=None,
        )
    with pytest.raises(alerts.AlertRefused, match="note"):
        alerts.resolve_alert(
            alert=alert,
            seen_version=alert.version,
            by=clinician,
            outcome=Alert.Outcome.REFERRED,
            note="   ",
            at=local_moment(5, 11),
            ip_address=None,
        )
    resolve_directly(acknowledged, clinician)
    with pytest.raises(alerts.AlertRefused, match="already resolved"):
        resolve_directly(acknowledged, clinician, hour=14)
    with pytest.raises(alerts.AlertRefused, match="already resolved"):
        alerts.acknowledge_alert(
            alert=alert,
            seen_version=alert.version,
            by=clinician,
            at=local_moment(5, 15),
            ip_address=None,
        )
    alert.refresh_from_db()
    assert (alert.acknowledged_at, alert.resolved_at) == (local_moment(5, 9), local_moment(5, 13))


def test_the_domain_refuses_an_unknown_outcome(treatment: Treatment, clinician: User) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()

    with pytest.raises(alerts.AlertRefused, match="outcome"):
        alerts.resolve_alert(
            alert=alert,
            seen_version=alert.version,
            by=clinician,
            outcome="cured",  # type: ignore[arg-type]
            note="Done.",
            at=local_moment(5, 11),
            ip_address=None,
        )
    alert.refresh_from_db()
    assert alert.resolved_at is None


# Acknowledge and resolve: the pages --------------------------------------------------------


def test_im_calling_them_records_who_and_when(
    clinician_client: Client, patient: Patient, treatment: Treatment, clinician: User
) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()

    response = clinician_client.post(
        acknowledge_path(alert), shown(alert), REMOTE_ADDR="203.0.113.9"
    )

    assert response.status_code == 302
    assert response["Location"] == patient_path(patient)
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledged_at) == (clinician, local_moment(5, 10))
    assert alert.resolved_at is None
    event = AuditEvent.objects.get(action="alert.acknowledged")
    assert (event.actor, event.patient, event.object_id, event.ip_address) == (
        clinician,
        patient,
        str(alert.public_id),
        "203.0.113.9",
    )
    page = text_of(clinician_client.get(patient_path(patient)))
    assert "Acknowledged nurse@riverside.example is calling them, since Wed 25 Nov, 10:00 EST" in (
        page
    )
    assert "I'm calling them" not in page


def test_acknowledging_twice_is_refused_and_says_who_is_calling(
    clinician_client: Client, clinic: Clinic, treatment: Treatment, clinician: User
) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()
    clinician_client.post(acknowledge_path(alert), shown(alert))
    colleague = factories.create_clinician(clinic=clinic, email="doctor@riverside.example")
    other = Client()
    other.force_login(colleague)

    with at_local(5, 11):
        response = other.post(acknowledge_path(alert), shown(alert))

    assert response.status_code == 400
    said = text_of(response)
    assert "This alert is already acknowledged." in said
    assert "nurse@riverside.example is calling them, since Wed 25 Nov, 10:00 EST" in said
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledged_at) == (clinician, local_moment(5, 10))
    assert AuditEvent.objects.filter(action="alert.acknowledged").count() == 1


def test_acknowledging_with_htmx_swaps_only_the_alert_panel(
    clinician_client: Client, treatment: Treatment
) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()

    response = clinician_client.post(
        acknowledge_path(alert),
        shown(alert),
        headers={"HX-Request": "true", "HX-Target": f"alert-{alert.public_id}"},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page
    assert page.lstrip().startswith(
        f'<article class="alert-panel level-contact_clinic" id="alert-{alert.public_id}"'
    )
    assert "nurse@riverside.example is calling them" in text_of(response)
    assert f'action="{resolve_path(alert)}"' in page
    assert f'<h3 id="alert-{alert.public_id}-heading">' in page  # as on the patient's page

    again = clinician_client.post(
        acknowledge_path(alert),
        shown(
            alert, heading_level="2"
        ),  # sent from the resolve page, where the panel is under the h1
        headers={"HX-Request": "true", "HX-Target": f"alert-{alert.public_id}"},
    )
    assert again.status_code == 400
    assert "<html" not in again.content.decode()
    assert f'<h2 id="alert-{alert.public_id}-heading">' in again.content.decode()
    assert "This alert is already acknowledged." in text_of(again)


def test_a_boosted_acknowledge_gets_the_whole_page(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()

    response = clinician_client.post(
        acknowledge_path(alert), shown(alert), headers={"HX-Request": "true", "HX-Boosted": "true"}
    )

    assert response.status_code == 302
    assert response["Location"] == patient_path(patient)


def test_acknowledge_is_post_only(clinician_client: Client, treatment: Treatment) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()

    assert clinician_client.get(acknowledge_path(alert)).status_code == 405
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_resolve_page_shows_the_alert_and_the_outcomes(
    clinician_client: Client, patient: Patient, treatment: Treatment, clinician: User
) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()

    response = clinician_client.get(resolve_path(alert))

    assert response.status_code == 200
    said, page = text_of(response), response.content.decode()
    assert "Alert: Ana Patient" in said
    assert "Contact clinic Reach Ana Patient: no mobile number on record." in said
    assert "ana@example.com Swelling severe" in said
    for value, label in Alert.Outcome.choices:
        assert f'name="outcome" value="{value}"' in page
        assert label in said
    assert "What was done (required)" in said
    event = AuditEvent.objects.get(action="alert.viewed")
    assert (event.actor, event.patient, event.object_id) == (
        clinician,
        patient,
        str(alert.public_id),
    )


def test_acknowledge_then_resolve_records_who_and_when_and_shows_it(
    clinician_client: Client,
    clinic: Clinic,
    patient: Patient,
    treatment: Treatment,
    clinician: User,
) -> None:
    check_in_on(treatment, 2, flags=["severe_pain"])
    alert = the_alert()
    clinician_client.post(acknowledge_path(alert), shown(alert))
    colleague = factories.create_clinician(clinic=clinic, email="doctor@riverside.example")
    doctor = Client()
    doctor.force_login(colleague)

    with at_local(5, 16, 30):
        response = doctor.post(
            resolve_path(alert),
            shown(
                alert,
                outcome="seen_in_clinic",
                note="  Seen at 4pm; no sign of a blocked vessel.  ",
            ),
            REMOTE_ADDR="203.0.113.7",
        )

    assert response.status_code == 302
    assert response["Location"] == patient_path(patient)
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledged_at) == (clinician, local_moment(5, 10))
    assert (alert.resolved_by, alert.resolved_at) == (colleague, local_moment(5, 16, 30))
    assert alert.outcome == "seen_in_clinic"
    assert alert.outcome_note == "Seen at 4pm; no sign of a blocked vessel."
    event = AuditEvent.objects.get(action="alert.resolved")
    assert (event.actor, event.patient, event.ip_address) == (colleague, patient, "203.0.113.7")
    treatment.refresh_from_db()
    assert treatment.open_alert is None
    assert treatment.triage == Triage.MISSED_CHECK_IN  # nothing on days 3 and 4

    page = text_of(doctor.get(patient_path(patient)))
    assert "The alert is resolved." in page
    assert "Open alert" not in page
    assert (
        "Urgent Warning sign: Severe or worsening pain (blocked blood vessel or infection?) "
        "Opened 22 Nov, 12:00 EST nurse@riverside.example, 25 Nov, 10:00 EST "
        "doctor@riverside.example, 25 Nov, 16:30 EST Seen in clinic "
        "Seen at 4pm; no sign of a blocked vessel."
    ) in page


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"note": "Called her."}, "Choose the outcome."),
        ({"outcome": "cured", "note": "Called her."}, "Choose one of the outcomes listed."),
        ({"outcome": "referred"}, "Say what was done in a note."),
        ({"outcome": "referred", "note": "   "}, "Say what was done in a note."),
        ({"outcome": "referred", "note": "x" * 4001}, "at most 4000 characters"),
    ],
    ids=["no outcome", "unknown outcome", "no note", "blank note", "note too long"],
)
def test_bad_resolve_input_is_shown_again_and_nothing_is_saved(
    clinician_client: Client, treatment: Treatment, data: dict[str, str], error: str
) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()

    response = clinician_client.post(resolve_path(alert), shown(alert, **data))

    assert response.status_code == 422
    said = text_of(response)
    assert "The alert is not resolved yet" in said
    assert error in said
    if "note" in data and data["note"].strip() and len(data["note"]) <= 4000:
        assert data["note"] in response.content.decode()  # kept for another try
    alert.refresh_from_db()
    assert (alert.resolved_at, alert.outcome, alert.outcome_note) == (None, "", "")
    assert alert.acknowledged_at is None
    assert not AuditEvent.objects.filter(action="alert.resolved").exists()
    treatment.refresh_from_db()
    assert treatment.open_alert == alert


def test_resolving_twice_is_refused(
    clinician_client: Client, treatment: Treatment, clinician: User
) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()
    data = shown(alert, outcome="could_not_reach", note="No answer; left a message.")
    assert clinician_client.post(resolve_path(alert), data).status_code == 302

    with at_local(5, 11):
        again = clinician_client.post(
            resolve_path(alert), shown(alert, outcome="referred", note="Again")
        )

    assert again.status_code == 400
    assert "This alert is already resolved." in text_of(again)
    alert.refresh_from_db()
    assert (alert.outcome, alert.resolved_at) == ("could_not_reach", local_moment(5, 10))
    assert AuditEvent.objects.filter(action="alert.resolved").count() == 1
    # Opening the resolve page of a resolved alert shows how it ended, without the form.
    page = clinician_client.get(resolve_path(alert))
    assert page.status_code == 200
    assert "Could not reach" in text_of(page)
    assert 'name="outcome"' not in page.content.decode()
    # Acknowledging it now is refused too.
    assert clinician_client.post(acknowledge_path(alert), shown(alert)).status_code == 400


# Who may act on an alert -------------------------------------------------------------------


def test_another_clinics_alert_is_not_found(
    client: Client, other_clinician: User, treatment: Treatment
) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()
    client.force_login(other_clinician)

    assert client.post(acknowledge_path(alert), shown(alert)).status_code == 404
    assert client.get(resolve_path(alert)).status_code == 404
    data = {"outcome": "referred", "note": "Not mine."}
    assert client.post(resolve_path(alert), data).status_code == 404
    alert.refresh_from_db()
    assert (alert.acknowledged_at, alert.resolved_at) == (None, None)
    assert not AuditEvent.objects.filter(actor=other_clinician).exists()


def test_patients_cannot_act_on_alerts(patient_client: Client, treatment: Treatment) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()

    assert patient_client.post(acknowledge_path(alert), shown(alert)).status_code == 404
    assert patient_client.get(resolve_path(alert)).status_code == 404
    data = {"outcome": "referred", "note": "Me."}
    assert patient_client.post(resolve_path(alert), data).status_code == 404
    alert.refresh_from_db()
    assert (alert.acknowledged_at, alert.resolved_at) == (None, None)


def test_an_unknown_alert_is_not_found(clinician_client: Client) -> None:
    assert clinician_client.post(f"/clinic/alerts/{uuid.uuid4()}/acknowledge/").status_code == 404
    assert clinician_client.get(f"/clinic/alerts/{uuid.uuid4()}/resolve/").status_code == 404


def test_the_alert_actions_need_csrf(treatment: Treatment, clinician: User) -> None:
    check_in_on(treatment, 4, swelling=3)
    alert = the_alert()
    client = Client(enforce_csrf_checks=True)
    client.force_login(clinician)

    assert client.post(acknowledge_path(alert), shown(alert)).status_code == 403
    data = {"outcome": "referred", "note": "x"}
    assert client.post(resolve_path(alert), data).status_code == 403
    alert.refresh_from_db()
    assert (alert.acknowledged_at, alert.resolved_at) == (None, None)
