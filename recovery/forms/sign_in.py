"""Signing in: a patient's sign-in link, a clinician's password, code and reset."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordResetForm

from recovery.models import User


class LinkRequestForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


# What a sign-in link's token can be: URL-safe base64 (login_links.issue_login_link makes 43
# characters). Anything else is no token, refused before any lookup.
_LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")


class SignInLinkForm(forms.Form):
    """The page a sign-in link opens (/l/#<token>): the token from the link's fragment, put
    in the hidden field by sign-in-link.js, or, without JavaScript, the link (or the code
    after its #) pasted by the patient. `cleaned_data["token"]` is the token, or "" when
    what was given cannot be one."""

    token = forms.CharField(required=False, widget=forms.HiddenInput)
    link = forms.CharField(
        required=False, label="Paste the whole link from your email or the code after #"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        given = data.get("token") or data.get("link") or ""
        if not given:
            self.add_error("link", "Paste the link from your email, or the code after # in it.")
            return data
        data["token"] = token_in(given)
        return data


def token_in(text: str) -> str:
    """The token in a sign-in link, or in its code, as pasted ("" if there is none): what
    follows the #, without the spaces and line breaks an email may have put in."""
    text = "".join(text.split())
    code = text.partition("#")[2] if "#" in text else text
    return code if _LINK_TOKEN.fullmatch(code) else ""


# Clinic staff -------------------------------------------------------------------------


class SignInForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        error_messages={"required": "Enter your email address."},
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=4096,
        error_messages={"required": "Enter your password."},
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code from your authenticator app",
        max_length=20,
        error_messages={"required": "Enter the 6-digit code from your authenticator app."},
    )

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        if len(code) != 6 or not code.isascii() or not code.isdigit():
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        return code


class StaffPasswordResetForm(PasswordResetForm):
    """Only clinicians' accounts (with a password to reset) get an email."""

    def get_users(self, email: str) -> Iterator[Any]:
        for user in super().get_users(email):
            if isinstance(user, User) and hasattr(user, "clinician"):
                yield user
