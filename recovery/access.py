"""Every permission-checked lookup of patient data goes through here.

A miss and a record of someone else's look the same from outside: 404.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from recovery.models import Alert, CheckIn, Clinician, LateCheck, Patient, Treatment, User


class SignedInPersonBackend(ModelBackend):
    """Django's password check, and a signed-in user loaded with who they are.

    Each request loads its user from the session; loading the patient or the
    clinician (and their clinic) in the same query saves every page one.
    """

    def get_user(self, user_id: Any) -> User | None:
        people = User._default_manager.select_related("patient__clinic", "clinician__clinic")
        try:
            user = people.get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


def _signed_in_user(request: HttpRequest) -> User:
    """The signed-in user, loaded with who they are (SignedInPersonBackend); no one signed
    in gets a 404."""
    if not isinstance(request.user, User):
        raise Http404
    return request.user


def patient_for_request(request: HttpRequest) -> Patient:
    """The signed-in patient; anyone else (a clinician, say) gets a 404."""
    try:
        return _signed_in_user(request).patient
    except Patient.DoesNotExist:
        raise Http404 from None


def current_treatment(patient: Patient, *, today: dt.date) -> Treatment | None:
    """The treatment the patient's diary follows: their latest one up to today.

    Before their first treatment, the upcoming one (its diary has not started);
    a session booked ahead does not hide the diary that is running.
    """
    # With what the check-in pages read of them.
    treatments = Treatment.objects.filter(patient=patient).select_related(
        "product", "latest_check_in"
    )
    return current_of(list(treatments), today=today)


def current_of(treatments: list[Treatment], *, today: dt.date) -> Treatment | None:
    """current_treatment among one patient's treatments, newest first (as Treatment's
    default ordering gives them)."""
    started = (t for t in treatments if t.treated_on <= today)
    return next(started, treatments[-1] if treatments else None)


def check_in_for_patient(patient: Patient, public_id: uuid.UUID) -> CheckIn:
    check_ins = CheckIn.objects.filter(treatment__patient=patient)
    return get_object_or_404(check_ins.select_related("treatment__product"), public_id=public_id)


def late_check_for_patient(patient: Patient, public_id: uuid.UUID) -> LateCheck:
    late_checks = LateCheck.objects.filter(watch__patient=patient)
    return get_object_or_404(
        late_checks.select_related("watch__treatment__product"), public_id=public_id
    )


# Clinic staff ----------------------------------------------------------------------------


def clinician_for_request(request: HttpRequest) -> Clinician:
    """The signed-in clinician; anyone else (a patient, say) gets a 404.

    Loaded with the user (SignedInPersonBackend), so asking again costs nothing: the
    sign-in middleware (recovery/middleware.py) has usually asked already.
    """
    try:
        return _signed_in_user(request).clinician
    except Clinician.DoesNotExist:
        raise Http404 from None


def clinic_admin_for_request(request: HttpRequest) -> Clinician:
    """The signed-in clinic admin; a clinician without the role is refused (403)."""
    clinician = clinician_for_request(request)
    if clinician.role != Clinician.Role.ADMIN:
        raise PermissionDenied
    return clinician


def patient_for_clinician(clinician: Clinician, public_id: uuid.UUID) -> Patient:
    patients = Patient.objects.filter(clinic=clinician.clinic)
    return get_object_or_404(patients.select_related("clinic", "user"), public_id=public_id)


def treatments_for_clinician(clinician: Clinician) -> QuerySet[Treatment]:
    return Treatment.objects.filter(clinic=clinician.clinic)


def late_checks_for_clinician(clinician: Clinician) -> QuerySet[LateCheck]:
    """Every long-term check-in of the clinician's clinic's watches (the export)."""
    return LateCheck.objects.filter(watch__clinic=clinician.clinic)


def check_ins_for_clinician(clinician: Clinician) -> QuerySet[CheckIn]:
    """Every check-in of the clinician's clinic's treatments (the export)."""
    return CheckIn.objects.filter(treatment__clinic=clinician.clinic)


def alert_for_clinician(clinician: Clinician, public_id: uuid.UUID) -> Alert:
    alerts = Alert.objects.filter(treatment__clinic=clinician.clinic)
    return get_object_or_404(
        alerts.select_related("treatment__patient", "treatment__product"), public_id=public_id
    )
