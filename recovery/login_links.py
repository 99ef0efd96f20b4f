"""Patients sign in with single-use, expiring links; only a hash of the token is stored.

Opening a link (GET) only shows a "Sign in" button: mail scanners that
follow links must not use them up. Pressing it (POST) redeems the link.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.urls import reverse

from recovery import audit, emails
from recovery.models import AuditAction, LoginLink, Patient, User


class LinkProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


class UnusableLink(Exception):
    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def default_validity() -> dt.timedelta:
    return dt.timedelta(hours=settings.LOGIN_LINK_MAX_AGE_HOURS)


def issue_login_link(
    *, patient: Patient, at: dt.datetime, valid_for: dt.timedelta | None = None
) -> str:
    """A fresh link for `patient`, as a full URL, usable once within `valid_for` (default
    LOGIN_LINK_MAX_AGE_HOURS). The token itself is not kept.

    The token is the URL's fragment (`/l/#<token>`): browsers never send a fragment to the
    server, so it reaches no access log, proxy or Referer; the page posts it (signin.py).
    """
    token = secrets.token_urlsafe(32)
    LoginLink.objects.create(
        patient=patient,
        token_hash=hash_token(token),
        created_at=at,
        expires_at=at + (default_validity() if valid_for is None else valid_for),
    )
    return f"{settings.SITE_URL}{reverse('login_link')}#{token}"


def usable_link(*, token: str, at: dt.datetime) -> LoginLink:
    """The link behind `token` if it can still be used; UnusableLink otherwise."""
    return usable_link_by_hash(token_hash=hash_token(token), at=at)


def usable_link_by_hash(*, token_hash: str, at: dt.datetime) -> LoginLink:
    link = (
        LoginLink.objects.select_related("patient__clinic", "patient__user")
        .filter(token_hash=token_hash)
        .first()
    )
    if link is None:
        raise UnusableLink(LinkProblem.UNKNOWN)
    if link.used_at is not None:
        raise UnusableLink(LinkProblem.USED)
    if link.expires_at <= at:
        raise UnusableLink(LinkProblem.EXPIRED)
    return link


def redeem_login_link(*, token_hash: str, at: dt.datetime, ip_address: str | None) -> Patient:
    """Use the link up (once, even when two requests race) and return its patient."""
    with transaction.atomic():
        link = usable_link_by_hash(token_hash=token_hash, at=at)
        claimed = LoginLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=at)
        if not claimed:
            raise UnusableLink(LinkProblem.USED)
        audit.record_event(
            link.patient,
            AuditAction.PATIENT_SIGNED_IN,
            actor=link.patient.user,
            ip_address=ip_address,
        )
    return link.patient


def hand_out_login_link(
    *, patient: Patient, at: dt.datetime, issued_by: User | None, ip_address: str | None
) -> str:
    """A fresh link that clinic staff hand to the patient (a QR code to scan in the room).

    The URL is returned to be shown once; it is neither stored nor logged.
    Earlier links stay valid until they are used or expire.
    """
    with transaction.atomic():
        url = issue_login_link(patient=patient, at=at)
        audit.record_event(
            patient, AuditAction.LOGIN_LINK_ISSUED, actor=issued_by, ip_address=ip_address
        )
    return url


def email_login_link(
    *,
    patient: Patient,
    at: dt.datetime,
    sent_by: User | None = None,
    ip_address: str | None = None,
) -> None:
    """Email `patient` a fresh link (sent once the transaction commits).

    `sent_by` is the clinician who sent it from the clinic, or None when the
    patient asked for it themselves.
    """
    if not patient.email:
        raise ValueError("The patient has no email address.")
    with transaction.atomic():
        url = issue_login_link(patient=patient, at=at)
        context = {
            "patient": patient,
            "url": url,
            "site_name": settings.SITE_NAME,
            "hours": settings.LOGIN_LINK_MAX_AGE_HOURS,
            "sent_by_clinic": sent_by is not None,
        }
        message = emails.templated_email("login-link", context, to=[patient.email])
        transaction.on_commit(message.send)
        audit.record_event(
            patient, AuditAction.LOGIN_LINK_EMAILED, actor=sent_by, ip_address=ip_address
        )


def request_login_links(*, email: str, at: dt.datetime) -> None:
    """ "Email me a new link": queue the sending, the same work whether or not the address
    belongs to anyone.

    The request only looks the address up (one indexed query either way) and queues one
    task with what it found, an empty list included; making the links, rendering and
    sending the emails happen in the worker (`manage.py db_worker`), after the answer, so
    its timing cannot tell a known address from an unknown one. The task carries patient
    ids, not the address.
    """
    patient_ids = list(
        Patient.objects.filter(email__iexact=email.strip()).values_list("pk", flat=True)
    )
    send_login_links.enqueue(patient_ids, at.isoformat())


def email_login_links_to(*, patient_ids: list[int], at: dt.datetime) -> int:
    """Email a fresh link to each of these patients; returns how many were sent.

    Each patient gets at most LOGIN_LINKS_PER_HOUR links an hour, so the form cannot be
    used to flood someone's inbox; the patient's row is locked while their links are
    counted and the new one made, so requests at the same moment cannot each slip in.
    """
    sent = 0
    since = at - dt.timedelta(hours=1)
    for patient_id in patient_ids:
        with transaction.atomic():
            patient = (
                Patient.objects.select_for_update(of=("self",))
                .select_related("clinic")
                .filter(pk=patient_id)
                .first()
            )
            if patient is None or not patient.email:
                continue
            recent = patient.login_links.filter(created_at__gt=since).count()
            if recent >= settings.LOGIN_LINKS_PER_HOUR:
                continue
            email_login_link(patient=patient, at=at)
            sent += 1
    return sent


@task()
def send_login_links(patient_ids: list[int], at: str) -> int:
    """ "Email me a new link", asked for at `at` (ISO 8601), as the worker runs it
    (`manage.py db_worker`): a link to each patient with the address given (none, for an
    unknown one); returns how many were sent."""
    return email_login_links_to(patient_ids=patient_ids, at=dt.datetime.fromisoformat(at))
