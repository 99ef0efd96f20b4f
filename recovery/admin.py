"""The admin: clinic and course settings for superusers; patient data read-only.

Clinic staff may read their own clinic's patients, check-ins and (clinic admins only) audit
rows here; every read is audited. Nobody adds patient data in the admin (enrollment has one
door, the clinic's page); a superuser's corrections go through the write functions.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from recovery import audit, locks, long_term, reminders, triage
from recovery.enrollment import delete_treatment, move_patient
from recovery.models import (
    AuditAction,
    AuditEvent,
    CheckIn,
    Clinic,
    Clinician,
    Patient,
    Product,
    Treatment,
    User,
)

admin.site.register(User, UserAdmin)


def clinic_of(request: HttpRequest) -> Clinic | None:
    """The clinic a staff member works for; None for a superuser, who sees every clinic."""
    user = request.user
    if user.is_superuser:
        return None
    clinician: Clinician | None = getattr(user, "clinician", None)
    if clinician is None:
        raise PermissionDenied
    return clinician.clinic


class ClinicScopedAdmin[M: Model](admin.ModelAdmin[M]):
    """Clinicians see and touch only their own clinic's records."""

    clinic_path: str

    def get_queryset(self, request: HttpRequest) -> QuerySet[M]:
        queryset = super().get_queryset(request)
        clinic = clinic_of(request)
        return queryset if clinic is None else queryset.filter(**{self.clinic_path: clinic})


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin[Clinic]):
    list_display = ["name", "phone", "time_zone"]


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin[Clinician]):
    list_display = ["user", "clinic", "role"]
    list_select_related = ["user", "clinic"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin[Product]):
    list_display = ["name", "code", "early_days", "typical_days", "expected_max_days", "diary_days"]


# What a superuser may correct of a treatment in the admin (the rest is kept by the write
# functions); new treatments are recorded on the clinic's patient page.
TREATMENT_FIELDS = (
    "product",
    "treated_on",
    "areas",
    "injection_sites",
    "session_number",
    "lot_number",
    "notes",
)


def _superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_superuser)


class SuperusersCorrectOnly:
    """Patient data in the admin: nobody adds it (enrollment has one door, the clinic's
    enrollment page and its write function); only a superuser changes or deletes it, as the
    write functions allow. Clinic staff read it, their clinic's only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _superuser(request)


class ReadOnlyForStaff[M: Model](SuperusersCorrectOnly, ClinicScopedAdmin[M]):
    """A clinic-scoped list of patient data that staff may read, never change."""


class TreatmentInline(SuperusersCorrectOnly, admin.StackedInline[Treatment, Patient]):
    model = Treatment
    extra = 0
    fields = TREATMENT_FIELDS


def audit_listed(request: HttpRequest, response: Any, action: AuditAction, patient_of: Any) -> None:
    """A list page of patient data: one audit row for each patient it showed."""
    changelist = getattr(response, "context_data", {}).get("cl")
    if changelist is None:
        return
    actor = audit.actor_of(request)
    patients = {}
    for row in changelist.result_list:
        patient = patient_of(row)
        if patient is not None:
            patients[patient.pk] = patient
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=actor,
            actor_ref=actor.get_username() if actor else "",
            patient=patient,
            patient_ref=patient.public_id,
            action=action,
            ip_address=audit.client_ip(request),
        )
        for patient in patients.values()
    )


@admin.register(Patient)
class PatientAdmin(ReadOnlyForStaff[Patient]):
    clinic_path = "clinic"
    list_display = ["name", "clinic", "email", "mobile", "created_at"]
    list_select_related = ["clinic"]
    # No search: the admin's would put names in the URL (and the access log). Search by
    # name on the clinic's dashboard, which posts it.
    fields = ["clinic", "name", "email", "mobile", "date_of_birth", "time_zone", "language"]
    inlines = [TreatmentInline]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        response = super().changelist_view(request, extra_context)
        audit_listed(request, response, AuditEvent.Action.PATIENT_LISTED_IN_ADMIN, lambda p: p)
        return response

    def save_model(self, request: HttpRequest, obj: Patient, form: Any, change: bool) -> None:
        """A superuser's correction; a new clinic moves everything of the patient's with
        them (enrollment.move_patient), never the patient alone."""
        actor = audit.actor_of(request)
        details = [f for f in form.changed_data if f != "clinic"]
        if details:
            obj.save(update_fields=details)
            audit.record(request, obj, AuditAction.PATIENT_CHANGED)
        if "time_zone" in details:
            reminders.reschedule(patient=obj)  # their clock has moved
        if "clinic" in form.changed_data:
            move_patient(
                patient=obj, to_clinic=obj.clinic, by=actor, ip_address=audit.client_ip(request)
            )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """A superuser's correction of a treatment: only the fields the form edits, on the
        row as it is now (what the write functions keep on it may have moved since the form
        was loaded), and its place on the dashboard recomputed."""
        for treatment in formset.save(commit=False):
            with transaction.atomic():
                locked = locks.treatment_for_update(treatment.pk)
                for name in TREATMENT_FIELDS:
                    setattr(locked, name, getattr(treatment, name))
                locked.save(update_fields=TREATMENT_FIELDS)
                triage.keep_current(locked, now=timezone.now())
            audit.record(request, form.instance, AuditAction.TREATMENT_CHANGED, treatment.public_id)
        for treatment in formset.deleted_objects:
            delete_treatment(
                treatment, by=audit.actor_of(request), ip_address=audit.client_ip(request)
            )
        if formset.changed_objects or formset.deleted_objects:
            # A date, a product or a treatment gone moves the reminders of all of them,
            # and may move the long-term watch's clock.
            long_term.follow_corrected_treatments(form.instance, at=timezone.now())
            reminders.reschedule(patient=form.instance)

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Patient | None:
        patient = super().get_object(request, object_id, from_field)
        if patient is not None:
            audit.record(request, patient, AuditAction.PATIENT_VIEWED_IN_ADMIN)
        return patient


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyForStaff[CheckIn]):
    clinic_path = "treatment__patient__clinic"
    list_display = ["treatment", "local_date", "day", "status"]
    list_select_related = ["treatment__patient", "treatment__product"]
    readonly_fields = [f.name for f in CheckIn._meta.get_fields() if f.concrete]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # check-ins change only through record_check_in (the history is kept)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        response = super().changelist_view(request, extra_context)
        audit_listed(
            request,
            response,
            AuditEvent.Action.PATIENT_LISTED_IN_ADMIN,
            lambda check_in: check_in.treatment.patient,
        )
        return response

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> CheckIn | None:
        check_in = super().get_object(request, object_id, from_field)
        if check_in is not None:
            audit.record(
                request,
                check_in.treatment.patient,
                AuditAction.CHECK_IN_VIEWED_IN_ADMIN,
                check_in.public_id,
            )
        return check_in


def _reads_audit(request: HttpRequest) -> bool:
    """Only clinic admins (and superusers) read audit rows, here as on the clinic's pages."""
    if request.user.is_superuser:
        return True
    clinician: Clinician | None = getattr(request.user, "clinician", None)
    return clinician is not None and clinician.role == Clinician.Role.ADMIN


@admin.register(AuditEvent)
class AuditEventAdmin(ClinicScopedAdmin[AuditEvent]):
    clinic_path = "patient__clinic"
    list_display = ["at", "actor_ref", "patient", "action", "object_id", "ip_address"]
    list_select_related = ["patient"]
    list_filter = ["action"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _reads_audit(request) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return _reads_audit(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        response = super().changelist_view(request, extra_context)
        audit_listed(
            request, response, AuditEvent.Action.AUDIT_VIEWED_IN_ADMIN, lambda event: event.patient
        )
        return response
