"""The clinic's side, under /clinic/."""

from django.urls import path

from recovery.views import check_in
from recovery.views.clinic import (
    alerts,
    auth,
    dashboard,
    enroll,
    exports,
    password_reset,
    patients,
)

app_name = "clinic"

urlpatterns = [
    # Signing in (email and password, then an authenticator code where the clinic asks for one)
    path("sign-in/", auth.sign_in, name="sign_in"),
    path("sign-in/code/", auth.verify_code, name="verify_code"),
    path("two-factor/", auth.two_factor_setup, name="two_factor_setup"),
    path("sign-out/", auth.sign_out, name="sign_out"),
    path("password-reset/", password_reset.ResetRequest.as_view(), name="password_reset"),
    path("password-reset/sent/", password_reset.ResetSent.as_view(), name="password_reset_sent"),
    path(
        "password-reset/<uidb64>/<token>/",
        password_reset.ResetConfirm.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", password_reset.ResetDone.as_view(), name="password_reset_done"),
    # Triage
    path("", dashboard.dashboard, name="dashboard"),
    # Enrollment at the treatment visit
    path("patients/new/", enroll.enroll, name="enroll"),
    path("patients/<uuid:public_id>/enrolled/", enroll.enrolled, name="enrolled"),
    path("patients/<uuid:public_id>/sign-in-link/", enroll.sign_in_link, name="sign_in_link"),
    path("patients/<uuid:public_id>/treatments/new/", enroll.new_treatment, name="new_treatment"),
    # One patient
    path("patients/<uuid:public_id>/", patients.patient, name="patient"),
    path("patients/<uuid:public_id>/check-in/", check_in.by_clinic, name="check_in"),
    path("patients/<uuid:public_id>/audit/", exports.audit_trail, name="audit_trail"),
    # Alerts
    path("alerts/<uuid:public_id>/acknowledge/", alerts.acknowledge, name="acknowledge_alert"),
    path("alerts/<uuid:public_id>/resolve/", alerts.resolve, name="resolve_alert"),
    # Export
    path("export/", exports.export_check_ins, name="export"),
]
