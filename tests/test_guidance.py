"""guidance.py words every code course.py lists, once: the models and pages take them from it."""

from __future__ import annotations

from recovery import course, guidance
from recovery.models import Alert, CheckIn, Triage


def test_every_status_has_the_patients_words_and_the_clinics() -> None:
    assert list(guidance.STATUS_WORDS) == list(course.Status)


def test_the_models_labels_are_guidances_words() -> None:
    for status, words in guidance.STATUS_WORDS.items():
        assert CheckIn.Status(status).label == words.tag
    for level in Alert.Level:
        assert level.label == guidance.STATUS_WORDS[course.Status(level)].clinic
    assert [(t.name.lower(), t.label) for t in Triage] == list(guidance.TRIAGE_WORDS.items())
