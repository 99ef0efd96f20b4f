"""Clinic staff who forgot their password, or are locked out, reset it by email.

Django's own views, for clinicians only (patients have no password: they sign in by
link). The request page says the same whatever the address; the emailed link works
once, for PASSWORD_RESET_MINUTES (an hour), and a reset also lifts the sign-in lock of
the account, so a locked-out nurse can help themselves.
"""

from __future__ import annotations

from typing import Any

from axes.utils import reset as reset_sign_in_lock
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.generic import TemplateView

from recovery.forms import StaffPasswordResetForm


@method_decorator(login_not_required, name="dispatch")
class ResetRequest(auth_views.PasswordResetView):
    form_class = StaffPasswordResetForm
    template_name = "recovery/clinic/auth/password_reset.html"
    subject_template_name = "emails/password-reset-subject.txt"
    email_template_name = "emails/password-reset-body.txt"
    html_email_template_name = "emails/password-reset-body.html"
    success_url = reverse_lazy("clinic:password_reset_sent")
    extra_email_context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL}


@method_decorator(login_not_required, name="dispatch")
class ResetSent(TemplateView):
    template_name = "recovery/clinic/auth/password_reset_sent.html"


@method_decorator(login_not_required, name="dispatch")
class ResetConfirm(auth_views.PasswordResetConfirmView):
    template_name = "recovery/clinic/auth/password_reset_confirm.html"
    success_url = reverse_lazy("clinic:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        # The lock of wrong passwords goes with the old password.
        reset_sign_in_lock(username=form.user.get_username())
        return response


@method_decorator(login_not_required, name="dispatch")
class ResetDone(TemplateView):
    template_name = "recovery/clinic/auth/password_reset_done.html"
