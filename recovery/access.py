"""Every permission-checked lookup of patient data goes through here.

A miss and a record of someone else's look the same from outside: 404.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import Http404, HttpRequest

from recovery.models import CheckIn, Patient, Treatment, User


def patient_for_request(request: HttpRequest) -> Patient:
    """The signed-in patient; anyone else (a clinician, say) gets a 404."""
    user = request.user
    if not isinstance(user, User):
        raise Http404
    try:
        return Patient.objects.select_related("clinic").get(user=user)
    except Patient.DoesNotExist:
        raise Http404 from None


def current_treatment(patient: Patient, *, today: dt.date) -> Treatment | None:
    """The treatment the patient's diary follows: their latest one up to today.

    Before their first treatment, the upcoming one (its diary has not started);
    a session booked ahead does not hide the diary that is running.
    """
    treatments = Treatment.objects.filter(patient=patient).select_related("product")
    return (
        treatments.filter(treated_on__lte=today).order_by("-treated_on", "-id").first()
        or treatments.order_by("treated_on", "id").first()
    )


def check_in_for_patient(patient: Patient, public_id: uuid.UUID) -> CheckIn:
    try:
        return CheckIn.objects.select_related("treatment__product").get(
            public_id=public_id, treatment__patient=patient
        )
    except CheckIn.DoesNotExist:
        raise Http404 from None
