"""Resolving an alert: its outcome and a note, against the version the page showed."""

from __future__ import annotations

from django import forms

from recovery.models import Alert


class ResolveAlertForm(forms.Form):
    # The version of the alert the page showed (alerts.resolve_alert refuses a stale one).
    version = forms.IntegerField(
        min_value=1,
        widget=forms.HiddenInput,
        error_messages={"required": "This page is out of date: open the alert again."},
    )
    outcome = forms.ChoiceField(
        label="Outcome",
        choices=Alert.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the outcome.",
            "invalid_choice": "Choose one of the outcomes listed.",
        },
    )
    note = forms.CharField(
        label="What was done",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 4000}),
        error_messages={"required": "Say what was done in a note."},
    )


def resolve_form_for(alert: Alert, data: object = None) -> ResolveAlertForm:
    """A resolve form whose field ids are unique on a page showing several alerts."""
    return ResolveAlertForm(data, auto_id=f"id_{alert.public_id.hex}_%s")  # type: ignore[arg-type]
