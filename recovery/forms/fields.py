"""Fields that more than one form asks with."""

from __future__ import annotations

from django import forms

YES_NO = [("no", "No"), ("yes", "Yes")]


def yes_no_field(
    label: str,
    *,
    help_text: str = "",
    yes_first: bool = False,
    widget: forms.RadioSelect | None = None,
) -> forms.TypedChoiceField:
    """A question that must be answered yes or no, as radio buttons; True for a yes."""
    return forms.TypedChoiceField(
        label=label,
        help_text=help_text,
        choices=YES_NO[::-1] if yes_first else YES_NO,
        coerce=lambda value: value == "yes",
        widget=widget or forms.RadioSelect,
        error_messages={
            "required": "Please answer yes or no.",
            "invalid_choice": "Please answer yes or no.",
        },
    )
