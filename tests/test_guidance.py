"""guidance.py words every code course.py lists, once: the models and pages take them from it."""

from __future__ import annotations

import datetime as dt

from recovery import course, guidance
from recovery.models import Alert, CheckIn, Screening, Triage


def test_every_status_has_the_patients_words_and_the_clinics() -> None:
    assert list(guidance.STATUS_WORDS) == list(course.Status)


def test_the_models_labels_are_guidances_words() -> None:
    for status, words in guidance.STATUS_WORDS.items():
        assert CheckIn.Status(status).label == words.tag
    for level in Alert.Level:
        assert level.label == guidance.STATUS_WORDS[course.Status(level)].clinic
    assert [(t.name.lower(), t.label) for t in Triage] == list(guidance.TRIAGE_WORDS.items())


def test_every_reason_the_course_gives_is_worded_for_the_patient_and_the_clinic() -> None:
    assert list(guidance.REASON_WORDS) == list(course.REASON_RULES)
    assert list(guidance.CLINIC_REASON_WORDS) == [*course.REASON_RULES, course.LATE_LUMP]
    reasons = [f"red_flag:{flag}" for flag in course.RED_FLAGS] + [
        f"{rule}:{symptom}" for rule in course.REASON_RULES[1:] for symptom in course.SYMPTOMS
    ]
    for reason in reasons:
        for status in course.Status:
            assert (
                "{"
                not in guidance.guidance_for(
                    status=status,
                    reasons=[reason],
                    day=20,
                    clinic_name="C",
                    values=course.BELLAFILL,
                ).lines[0]
            )
        rule, _, code = reason.partition(":")
        named = guidance.CLINIC_RED_FLAG_WORDS if rule == "red_flag" else guidance.SYMPTOM_LABELS
        assert named[code] in guidance.clinic_reason_words(reason)


def test_a_reason_says_lumps_in_the_plural() -> None:
    said = {
        rule: guidance.guidance_for(
            status=status,
            reasons=[f"{rule}:lumps"],
            day=20,
            clinic_name="C",
            values=course.BELLAFILL,
        ).lines[0]
        for rule, status in [
            ("persisting", course.Status.CONTACT_CLINIC),
            ("severe", course.Status.CONTACT_CLINIC),
            ("worsening", course.Status.CONTACT_CLINIC),
            ("slow_to_improve", course.Status.WATCH),
        ]
    }
    assert said == {
        "persisting": "Lumps or bumps have lasted longer than the expected one to two weeks.",
        "severe": "Lumps or bumps are severe.",
        "worsening": "Lumps or bumps are worse than at your last check-in.",
        "slow_to_improve": "Lumps or bumps are taking longer than the usual week to settle.",
    }
    watch = guidance.guidance_for(
        status=course.Status.WATCH,
        reasons=["worsening:pain"],
        day=5,
        clinic_name="C",
        values=course.BELLAFILL,
    )
    assert watch.lines[0] == (
        "Pain or tenderness has come back or is a little worse than at your last check-in."
    )


def test_a_late_lump_is_worded_for_the_clinic() -> None:
    assert guidance.clinic_reason_words(course.LATE_LUMP) == (
        "New lump, hardness, redness or swelling at a treated area (long-term watch)"
    )


def test_every_contraindication_is_asked_recorded_and_warned_of_in_guidances_words() -> None:
    assert list(guidance.CONTRAINDICATION_WORDS) == list(course.CONTRAINDICATIONS)
    assert guidance.CONTRAINDICATION_WORDS["lidocaine_allergy"].warning == (
        "Lidocaine allergy or hypersensitivity recorded: a contraindication."
    )
    assert guidance.CONTRAINDICATION_WORDS["keloid_tendency"].warning == (
        "Tendency to keloid or hypertrophic scarring recorded: a contraindication."
    )


def test_every_warning_of_the_checklist_is_worded() -> None:
    assert list(guidance.SKIN_TEST_WORDS) == list(course.SkinTest)
    for result, words in guidance.SKIN_TEST_WORDS.items():
        assert Screening.SkinTest(result).label == words
    treated_on = dt.date(2026, 12, 1)
    given = set()
    for skin_test in course.SkinTest:
        for skin_test_on in (None, treated_on, treated_on - dt.timedelta(days=60)):
            given |= set(
                course.checklist_warnings(
                    date_of_birth=dt.date(2010, 1, 1),
                    treated_on=treated_on,
                    product_code=course.SKIN_TEST_PRODUCT,
                    skin_test=skin_test,
                    skin_test_on=skin_test_on,
                    answered_yes=course.CONTRAINDICATIONS,
                )
            )
    assert given == set(guidance.CHECKLIST_WARNINGS)
