"""The admin: enrollment for now, clinic and course settings, a read-only audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import ForeignKey, Model, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils import timezone

from recovery import audit, locks, triage
from recovery.enrollment import add_treatment, new_patient_user
from recovery.models import (
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


# What the admin edits of a treatment (the rest is kept by the write functions).
TREATMENT_FIELDS = (
    "product",
    "treated_on",
    "areas",
    "injection_sites",
    "session_number",
    "lot_number",
    "notes",
)


class TreatmentInline(admin.StackedInline[Treatment, Patient]):
    model = Treatment
    extra = 1
    fields = TREATMENT_FIELDS


@admin.register(Patient)
class PatientAdmin(ClinicScopedAdmin[Patient]):
    clinic_path = "clinic"
    list_display = ["name", "clinic", "email", "mobile", "created_at"]
    list_select_related = ["clinic"]
    search_fields = ["name", "email", "mobile"]
    exclude = ["user"]
    inlines = [TreatmentInline]

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        clinic = clinic_of(request)
        if db_field.name == "clinic" and clinic is not None:
            kwargs["queryset"] = Clinic.objects.filter(pk=clinic.pk)
            kwargs["initial"] = clinic
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Patient, form: Any, change: bool) -> None:
        if not change:
            user = new_patient_user()
            user.save()
            obj.user = user
        super().save_model(request, obj, form, change)
        audit.record(
            request,
            patient=obj,
            action=AuditEvent.Action.PATIENT_CHANGED
            if change
            else AuditEvent.Action.PATIENT_ENROLLED,
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """New treatments go through add_treatment, which keeps the dashboard's fields."""
        for treatment in formset.save(commit=False):
            if treatment.pk is None:
                add_treatment(
                    patient=form.instance,
                    product=treatment.product,
                    treated_on=treatment.treated_on,
                    areas=treatment.areas,
                    injection_sites=treatment.injection_sites,
                    session_number=treatment.session_number,
                    lot_number=treatment.lot_number,
                    notes=treatment.notes,
                    recorded_by=request.user if isinstance(request.user, User) else None,
                )
            else:
                # Only what the form edits, on the row as it is now: what the write
                # functions keep on it (latest check-in, open alert, triage) may have
                # moved since the form was loaded.
                with transaction.atomic():
                    locked = locks.treatment_for_update(treatment.pk)
                    for name in TREATMENT_FIELDS:
                        setattr(locked, name, getattr(treatment, name))
                    locked.save(update_fields=TREATMENT_FIELDS)
                    # A changed date or product can move it on the dashboard (and its counts).
                    triage.keep_current(locked, now=timezone.now())
                audit.record(
                    request,
                    patient=form.instance,
                    action=AuditEvent.Action.TREATMENT_CHANGED,
                    object_id=treatment.public_id,
                )

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Patient | None:
        patient = super().get_object(request, object_id, from_field)
        if patient is not None:
            audit.record(request, patient=patient, action=AuditEvent.Action.PATIENT_VIEWED_IN_ADMIN)
        return patient


@admin.register(CheckIn)
class CheckInAdmin(ClinicScopedAdmin[CheckIn]):
    clinic_path = "treatment__patient__clinic"
    list_display = ["treatment", "local_date", "day", "status"]
    list_select_related = ["treatment__patient", "treatment__product"]
    readonly_fields = [f.name for f in CheckIn._meta.get_fields() if f.concrete]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ClinicScopedAdmin[AuditEvent]):
    clinic_path = "patient__clinic"
    list_display = ["at", "actor", "patient", "action", "object_id", "ip_address"]
    list_select_related = ["actor", "patient"]
    list_filter = ["action"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
