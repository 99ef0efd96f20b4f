"""The app's forms, a module for each part of it; every form can be imported from here.

A form checks what was sent and turns it into the plain values a domain function takes
(`CheckInForm.answers()`, `EnrollmentForm.patient_details()`); the writing is the domain
function's.
"""

from recovery.forms.alerts import ResolveAlertForm, resolve_form_for
from recovery.forms.check_in import CheckInForm
from recovery.forms.enrollment import EnrollmentForm, TreatmentForm
from recovery.forms.exports import ExportForm
from recovery.forms.long_term import LateCheckForm
from recovery.forms.reminders import ReminderForm
from recovery.forms.sign_in import (
    CodeForm,
    LinkRequestForm,
    SignInForm,
    SignInLinkForm,
    StaffPasswordResetForm,
)

__all__ = [
    "CheckInForm",
    "CodeForm",
    "EnrollmentForm",
    "ExportForm",
    "LateCheckForm",
    "LinkRequestForm",
    "ReminderForm",
    "ResolveAlertForm",
    "SignInForm",
    "SignInLinkForm",
    "StaffPasswordResetForm",
    "TreatmentForm",
    "resolve_form_for",
]
