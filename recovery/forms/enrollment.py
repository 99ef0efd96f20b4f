"""Enrolling a patient with their treatment and its checklist, and a returning patient's
next session."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any, Self

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from recovery.enrollment import (
    Checklist,
    Enrolled,
    PatientDetails,
    ScreeningFacts,
    ScreeningWarning,
    TreatmentDetails,
    add_screened_treatment,
    enroll_with_treatment,
)
from recovery.forms.fields import yes_no_field
from recovery.guidance import CONTRAINDICATION_WORDS
from recovery.models import (
    TIME_ZONE_CHOICES,
    Clinic,
    Patient,
    Product,
    Screening,
    Treatment,
    User,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# When the skin test was read needs a date for every result but "not done".
DATED_RESULTS = {
    Screening.SkinTest.NEGATIVE,
    Screening.SkinTest.POSITIVE,
    Screening.SkinTest.EQUIVOCAL,
}
MOBILE_CHARACTERS = set("0123456789+-() .")


def _contraindication(code: str) -> forms.TypedChoiceField:
    """Yes or no to one of the checklist's contraindications, in guidance's words."""
    words = CONTRAINDICATION_WORDS[code]
    return yes_no_field(
        words.question, help_text=words.hint, widget=forms.RadioSelect(attrs={"class": "radio-row"})
    )


def _cleaned_as[Details: DataclassInstance](cls: type[Details], data: dict[str, Any]) -> Details:
    """One of enrollment.py's plain values, each field the form's cleaned field of its name."""
    return cls(**{field.name: data[field.name] for field in dataclasses.fields(cls)})


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _date_field(label: str, *, required: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        widget=_date_input(),
        error_messages={"required": required, "invalid": "Enter a date."},
    )


class TreatmentForm(forms.Form):
    """Today's treatment and the pre-treatment checklist (recovery-course.md, "Before treatment").

    `today` is the clinic's date: a treatment is recorded on the day or after
    it, never ahead. `not_before` is the date of the patient's latest treatment
    on record, if any.
    """

    product = forms.ModelChoiceField(
        queryset=Product.objects.order_by("name"),
        to_field_name="code",
        empty_label=None,
        error_messages={"invalid_choice": "Choose one of the products listed."},
    )
    treated_on = _date_field("Treatment date", required="Enter the treatment date.")
    areas = forms.CharField(
        label="Areas treated (optional)",
        required=False,
        max_length=200,
        help_text="For example: left and right cheek.",
    )
    injection_sites = forms.IntegerField(
        label="Number of injection sites (optional)",
        required=False,
        min_value=1,
        max_value=500,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    session_number = forms.IntegerField(
        label="Session number",
        min_value=1,
        max_value=20,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={"required": "Enter the session number (1 for a first treatment)."},
    )
    lot_number = forms.CharField(label="Lot number (optional)", required=False, max_length=50)

    # The checklist
    skin_test_result = forms.ChoiceField(
        label="Skin test result",
        choices=Screening.SkinTest.choices,
        widget=forms.RadioSelect(attrs={"class": "radio-row"}),
        error_messages={"required": "Choose the skin test result, or Not done."},
    )
    skin_test_on = forms.DateField(
        label="Date the skin test was read",
        required=False,
        widget=_date_input(),
        help_text="Needed unless the skin test was not done.",
        error_messages={"invalid": "Enter a date."},
    )
    # course.CONTRAINDICATIONS, each a field of its name.
    lidocaine_allergy = _contraindication("lidocaine_allergy")
    bovine_collagen_allergy = _contraindication("bovine_collagen_allergy")
    anaphylaxis_history = _contraindication("anaphylaxis_history")
    multiple_severe_allergies = _contraindication("multiple_severe_allergies")
    keloid_tendency = _contraindication("keloid_tendency")

    # The clinician's decision, once warnings have been shown.
    go_ahead = forms.BooleanField(
        label="I have reviewed these warnings and we are going ahead", required=False
    )
    reviewed = forms.CharField(required=False, widget=forms.HiddenInput)
    # Made when the form is first shown: the same form sent again records nothing new.
    submission_key = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, today: dt.date, not_before: dt.date | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.today = today
        self.not_before = not_before
        # The checklist's warnings to confirm (review_again), and whether the answers
        # changed the ones the clinician had been shown.
        self.warnings: list[ScreeningWarning] = []
        self.warnings_changed = False

    def clean_treated_on(self) -> dt.date:
        treated_on: dt.date = self.cleaned_data["treated_on"]
        if treated_on > self.today:
            raise ValidationError(
                "The treatment date can't be in the future: record the treatment on the day, "
                "or after it."
            )
        if self.not_before is not None and treated_on < self.not_before:
            raise ValidationError(
                f"The latest treatment on record was on {self.not_before:%d %b %Y}; "
                "a new session can't be dated earlier."
            )
        return treated_on

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        result = data.get("skin_test_result")
        skin_test_on = data.get("skin_test_on")
        treated_on = data.get("treated_on")
        if result in DATED_RESULTS and skin_test_on is None and "skin_test_on" not in self.errors:
            self.add_error("skin_test_on", "Enter the date the skin test was read.")
        if result == Screening.SkinTest.NOT_DONE:
            data["skin_test_on"] = None
        elif skin_test_on is not None and treated_on is not None and skin_test_on > treated_on:
            self.add_error(
                "skin_test_on", "The skin test must have been read on or before the treatment date."
            )
        return data

    def treatment_details(self) -> TreatmentDetails:
        return _cleaned_as(TreatmentDetails, self.cleaned_data)

    def checklist(self) -> Checklist:
        """The answers, the warnings the clinician confirmed going ahead with (none unless
        the box is ticked), and the form's key."""
        data = self.cleaned_data
        reviewed = data["reviewed"].split() if data.get("go_ahead") else []
        return Checklist(
            facts=_cleaned_as(ScreeningFacts, data),
            reviewed=frozenset(code for code in reviewed if code),
            submission_key=data["submission_key"],
        )

    def add_to(
        self, patient: Patient, *, by: User, at: dt.datetime, ip_address: str | None
    ) -> Treatment:
        """The form's treatment and checklist, as `patient`'s next session
        (enrollment.add_screened_treatment, and its refusals)."""
        return add_screened_treatment(
            patient=patient,
            details=self.treatment_details(),
            checklist=self.checklist(),
            recorded_by=by,
            at=at,
            ip_address=ip_address,
        )

    def review_again(self, warnings: list[ScreeningWarning]) -> Self:
        """The same answers, to show again with `warnings` and an unticked box.

        If the clinician already saw exactly these warnings, they submitted
        without ticking the box: that is the error to point at.
        """
        codes = " ".join(w.code for w in warnings)
        shown_before = self.cleaned_data.get("reviewed", "")
        data = dict(self.data.items())
        data["reviewed"] = codes
        data.pop("go_ahead", None)
        form = type(self)(data, today=self.today, not_before=self.not_before)
        form.full_clean()
        form.warnings = warnings
        form.warnings_changed = bool(shown_before) and shown_before != codes
        if shown_before == codes:
            form.add_error(
                "go_ahead", "Tick the box to go ahead, or change the answers that raised warnings."
            )
        return form


class EnrollmentForm(TreatmentForm):
    """A new patient, their treatment and the checklist, in one form."""

    name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(
        label="Email (optional if you enter a mobile)",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    mobile = forms.CharField(
        label="Mobile number",
        required=False,
        max_length=40,
        help_text="The number the clinic calls when an alert is urgent.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    no_mobile_reason = forms.CharField(
        label="No mobile phone? Say why",
        required=False,
        max_length=200,
        help_text="Only if the patient has no mobile number to give, e.g. a landline only.",
    )
    date_of_birth = _date_field("Date of birth", required="Enter the date of birth.")
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=TIME_ZONE_CHOICES,
        help_text="Where the patient will be during their recovery; their days follow it.",
        error_messages={"invalid_choice": "Choose a time zone from the list."},
    )
    language = forms.ChoiceField(label="Language", choices=settings.LANGUAGES)

    field_order = [
        "name",
        "email",
        "mobile",
        "no_mobile_reason",
        "date_of_birth",
        "time_zone",
        "language",
    ]

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Enter the patient's name.")
        return name

    def clean_mobile(self) -> str:
        mobile: str = self.cleaned_data["mobile"].strip()
        if mobile and (
            not set(mobile) <= MOBILE_CHARACTERS or sum(ch.isdigit() for ch in mobile) < 7
        ):
            raise ValidationError("Enter a phone number, for example +1 555 010 1234.")
        return mobile

    def clean_date_of_birth(self) -> dt.date:
        born: dt.date = self.cleaned_data["date_of_birth"]
        if born >= self.today:
            raise ValidationError("The date of birth must be in the past.")
        if born.year < self.today.year - 120:
            raise ValidationError("Check the year of birth.")
        return born

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        reason = data.get("no_mobile_reason", "").strip()
        data["no_mobile_reason"] = "" if data.get("mobile") else reason
        if not data.get("mobile") and not reason and "mobile" not in self.errors:
            self.add_error(
                "mobile",
                "Enter the patient's mobile number (the clinic calls it when an alert is "
                "urgent), or say why they have none.",
            )
        if (
            not data.get("email")
            and not data.get("mobile")
            and "email" not in self.errors
            and "mobile" not in self.errors
        ):
            self.add_error("email", "Enter an email address, a mobile number, or both.")
        born, treated_on = data.get("date_of_birth"), data.get("treated_on")
        if born and treated_on and treated_on < born:
            self.add_error("treated_on", "The treatment date is before the date of birth.")
        return data

    def patient_details(self) -> PatientDetails:
        return _cleaned_as(PatientDetails, self.cleaned_data)

    def enroll_in(
        self, clinic: Clinic, *, by: User, at: dt.datetime, ip_address: str | None
    ) -> Enrolled:
        """The form's patient, treatment and checklist, enrolled at `clinic`
        (enrollment.enroll_with_treatment, and its refusals)."""
        return enroll_with_treatment(
            clinic=clinic,
            patient=self.patient_details(),
            treatment=self.treatment_details(),
            checklist=self.checklist(),
            enrolled_by=by,
            at=at,
            ip_address=ip_address,
        )
