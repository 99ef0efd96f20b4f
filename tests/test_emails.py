"""recovery.emails: what the alert, reminder and sign-in tests do not show of it."""

from __future__ import annotations

from pathlib import Path

from django.core import mail
from django.core.mail import EmailMultiAlternatives
from pytest_django.fixtures import Settings as SettingsFixture

from recovery import emails


def test_a_subject_template_over_several_lines_is_sent_as_one_line(
    settings: SettingsFixture, tmp_path: Path
) -> None:
    (tmp_path / "emails").mkdir()
    (tmp_path / "emails" / "note-subject.txt").write_text(
        "{{ site_name }}:\n  {% if soon %}soon{% endif %}\n\n   a check-in \n"
    )
    (tmp_path / "emails" / "note-body.txt").write_text("Plain {{ site_name }}\n")
    (tmp_path / "emails" / "note-body.html").write_text("<p>Rich {{ site_name }}</p>\n")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]

    sent = emails.send_templated_email(
        "note", {"site_name": "Aftercare", "soon": True}, to=["someone@example.com"]
    )

    assert sent == 1
    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    assert message.subject == "Aftercare: soon a check-in"
    assert message.body == "Plain Aftercare\n"
    assert message.alternatives == [("<p>Rich Aftercare</p>\n", "text/html")]
    assert message.to == ["someone@example.com"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
