"""The daily check-in's form, for the patient's page and the clinic's phone check-in."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils import timezone

from recovery import checkins, course
from recovery.guidance import RATING_WORDS, RED_FLAG_QUESTIONS, SYMPTOM_LABELS
from recovery.models import CheckIn, Treatment, User

RATING_CHOICES = [(value, word) for value, (word, _) in RATING_WORDS.items()]
YES_NO = [("no", "No"), ("yes", "Yes")]


@dataclass(frozen=True)
class Choice:
    value: str
    word: str
    hint: str
    checked: bool


@dataclass(frozen=True)
class Sign:
    """One warning sign as the patient's page asks it: a checkbox, ticked for a yes."""

    name: str
    label: str
    checked: bool


@dataclass(frozen=True)
class Question:
    """One question of the form as the page asks it: a fieldset of large radio buttons."""

    name: str
    label: str
    error: str  # the first error, or ""
    error_id: str
    choices: tuple[Choice, ...]


# (word, hint) by the value sent, for the radio buttons.
_RATING_CHOICES = {str(value): words for value, words in RATING_WORDS.items()}
_YES_NO_CHOICES = {value: (word, "") for value, word in YES_NO}


class CheckInForm(forms.Form):
    """The day's six ratings, the six red-flag questions and a note.

    Every question needs an answer, except when a warning sign is answered
    yes: then the check-in can be sent at once, and someone who feels
    something is wrong is told what to do before anything else.

    The warning signs are answered either one by one, yes or no (the clinic's phone
    check-in, and check-ins kept on a phone before the patient's page changed), or as
    the patient's page asks them: a tick for each one they have, or "None of these"
    (`no_warning_signs`). A sign ticked beside "None of these" is a yes: a warning sign
    is never dropped.
    """

    date = forms.DateField(widget=forms.HiddenInput)
    idempotency_key = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # The version of the day's check-in the form was filled in against (0: none yet). The
    # clinic's form sends it back, and a check-in changed meanwhile is not overwritten.
    version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    # When the patient answered, by the phone's clock: set by offline.js on a check-in
    # kept on the phone, which may reach the server hours later.
    answered_at = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    no_warning_signs = forms.BooleanField(required=False, label="None of these")
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Anything else you want your clinic to know? (optional)",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for symptom in course.SYMPTOMS:
            self.fields[symptom] = forms.TypedChoiceField(
                label=SYMPTOM_LABELS[symptom],
                choices=RATING_CHOICES,
                coerce=int,
                required=False,
                empty_value=None,
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": "Choose None, Mild, Moderate or Severe."},
            )
        for flag in course.RED_FLAGS:
            self.fields[flag] = forms.ChoiceField(
                label=RED_FLAG_QUESTIONS[flag],
                choices=YES_NO,
                required=False,
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": "Please answer yes or no."},
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        any_red_flag = any(data.get(flag) == "yes" for flag in course.RED_FLAGS)
        if not any_red_flag and not data.get("no_warning_signs"):
            unanswered = [
                flag for flag in course.RED_FLAGS if not data.get(flag) and flag not in self.errors
            ]
            if len(unanswered) == len(course.RED_FLAGS):
                self.add_error(
                    "no_warning_signs", "Tick each warning sign you have, or “None of these”."
                )
            for flag in unanswered:
                self.add_error(flag, "Please answer yes or no.")
        if not any_red_flag:
            for symptom in course.SYMPTOMS:
                if data.get(symptom) is None and symptom not in self.errors:
                    label = SYMPTOM_LABELS[symptom].lower()
                    self.add_error(symptom, f"Choose None, Mild, Moderate or Severe for {label}.")
        return data

    def _question(self, name: str, choices: dict[str, tuple[str, str]]) -> Question:
        field = self[name]
        value = field.value()
        chosen = "" if value is None else str(value)
        return Question(
            name=field.html_name,
            label=str(field.label),
            error=str(field.errors[0]) if field.errors else "",
            error_id=f"{field.auto_id}-error",
            choices=tuple(
                Choice(option, word, hint, checked=option == chosen)
                for option, (word, hint) in choices.items()
            ),
        )

    def rating_questions(self) -> list[Question]:
        """The six symptoms, each with the four words of the scale."""
        return [self._question(symptom, _RATING_CHOICES) for symptom in course.SYMPTOMS]

    def red_flag_questions(self) -> list[Question]:
        """The six warning-sign questions, each answered no or yes (the clinic's form)."""
        return [self._question(flag, _YES_NO_CHOICES) for flag in course.RED_FLAGS]

    def signs_error(self) -> str:
        """The warning signs' error, as the patient's page shows it, once for the six."""
        for name in ("no_warning_signs", *course.RED_FLAGS):
            if self[name].errors:
                return str(self[name].errors[0])
        return ""

    def red_flag_signs(self) -> list[Sign]:
        """The six warning signs, each ticked for a yes (the patient's form)."""
        return [
            Sign(
                name=self[flag].html_name,
                label=str(self[flag].label),
                checked=self[flag].value() == "yes",
            )
            for flag in course.RED_FLAGS
        ]

    @classmethod
    def for_day(cls, *, local_date: dt.date, existing: CheckIn | None) -> CheckInForm:
        """A blank form for `local_date`, or one holding that day's answers to change them.

        Each form gets a fresh idempotency key: sending it twice saves it once.
        """
        initial: dict[str, object] = {
            "date": local_date,
            "idempotency_key": uuid.uuid4(),
            "version": existing.version if existing is not None else 0,
        }
        if existing is not None:
            initial.update({s: getattr(existing, s) for s in course.SYMPTOMS})
            initial.update(
                {f: "yes" if f in existing.red_flags else "no" for f in course.RED_FLAGS}
            )
            initial["no_warning_signs"] = not existing.red_flags
            initial["note"] = existing.note
        return cls(initial=initial)

    def record(
        self,
        *,
        treatment: Treatment,
        entered_by: User,
        today: dt.date,
        at: dt.datetime,
        ip_address: str | None,
        check_version: bool = False,
        answered_at: dt.datetime | None = None,
    ) -> checkins.RecordedCheckIn:
        """Save the valid form's answers (checkins.CheckInRefused if the day cannot take them).

        `check_version`: refuse (checkins.CheckInChanged) if the day's check-in is no longer
        the version the form was filled in against; a form without one counts as stale.
        """
        seen_version = self.cleaned_data["version"]
        return checkins.record_check_in(
            treatment=treatment,
            local_date=self.cleaned_data["date"],
            answers=self.answers(),
            note=self.cleaned_data["note"],
            idempotency_key=self.cleaned_data["idempotency_key"],
            seen_version=(-1 if seen_version is None else seen_version) if check_version else None,
            answered_at=answered_at,
            entered_by=entered_by,
            today=today,
            at=at,
            ip_address=ip_address,
        )

    def clean_answered_at(self) -> dt.datetime | None:
        """A phone's clock may be wrong: a time still to come is taken as now."""
        at: dt.datetime | None = self.cleaned_data.get("answered_at")
        if at is not None and at > timezone.now():
            return timezone.now()
        return at

    def answers(self) -> course.Answers:
        data = self.cleaned_data
        return course.Answers(
            ratings={s: data.get(s) for s in course.SYMPTOMS},
            red_flags=frozenset(f for f in course.RED_FLAGS if data.get(f) == "yes"),
        )
