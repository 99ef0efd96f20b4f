"""The check-in export's date range."""

from __future__ import annotations

import datetime as dt

from django import forms

# The longest range one export covers.
MAX_EXPORT_DAYS = 366


class ExportForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, dt.date) and isinstance(end, dt.date):
            if start > end:
                self.add_error("end", "The end date must be on or after the start date.")
            elif (end - start).days >= MAX_EXPORT_DAYS:
                self.add_error("end", f"Export at most {MAX_EXPORT_DAYS} days at a time.")
        return data
