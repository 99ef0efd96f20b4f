"""The patient's reminder settings."""

from __future__ import annotations

from django import forms


class ReminderForm(forms.Form):
    reminder_time = forms.TimeField(
        label="Remind me at",
        input_formats=["%H:%M", "%H:%M:%S"],
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Your local time. We remind you only on days you haven't checked in yet.",
    )
    reminders_on = forms.BooleanField(label="Send me a daily reminder", required=False)
