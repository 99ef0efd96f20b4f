"""The long-term check-in (recovery.long_term): a new lump or not, and the context."""

from __future__ import annotations

from django import forms

from recovery import course
from recovery.forms.fields import yes_no_field
from recovery.guidance import LONG_TERM_CONTEXT_WORDS, LONG_TERM_QUESTION
from recovery.long_term import LateAnswers


class LateCheckForm(forms.Form):
    lump = yes_no_field(LONG_TERM_QUESTION, yes_first=True)
    context = forms.MultipleChoiceField(
        label="In the last few weeks, have you had…",
        choices=[(code, LONG_TERM_CONTEXT_WORDS[code][0]) for code in course.LONG_TERM_CONTEXT],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        error_messages={"invalid_choice": "That is not one of the questions."},
    )
    note = forms.CharField(
        label="Anything else to tell your clinic? (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        required=False,
    )
    idempotency_key = forms.UUIDField(
        widget=forms.HiddenInput,
        required=False,
        error_messages={"invalid": "This form is out of date. Please answer again."},
    )

    def answers(self) -> LateAnswers:
        data = self.cleaned_data
        return LateAnswers(
            lump=data["lump"], context=frozenset(data["context"]), note=data["note"].strip()
        )
