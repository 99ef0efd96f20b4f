from django.urls import include, path

from recovery.views import check_in, long_term, patient, pwa, signin, system
from recovery.views import reminders as reminder_views

urlpatterns = [
    path("healthz", system.healthz, name="healthz"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("clinic/", include("recovery.urls_clinic")),
    # Signing in
    path("sign-in/", signin.sign_in, name="sign_in"),
    path("sign-in/new-link/", signin.request_link, name="request_link"),
    path("sign-out/", signin.sign_out, name="sign_out"),
    # /l/#<token>: the token is the fragment, which never reaches the server (signin.py).
    path("l/", signin.login_link, name="login_link"),
    # The patient's side
    path("", patient.home, name="home"),
    path("check-in/", check_in.by_patient, name="check_in"),
    path("check-ins/<uuid:public_id>/", patient.check_in_result, name="check_in_result"),
    path("my-recovery/", patient.my_recovery, name="my_recovery"),
    path("long-term/", long_term.late_check, name="late_check"),
    path("long-term/stop/", long_term.stop_or_resume, name="long_term_stop"),
    path("long-term/<uuid:public_id>/", long_term.late_check_result, name="late_check_result"),
    path("reminders/", reminder_views.reminder_settings, name="reminders"),
    path("push/subscriptions/", reminder_views.push_subscriptions, name="push_subscriptions"),
]
