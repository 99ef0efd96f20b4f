"""What the patient is told: the words of recovery-course.md for each status.

Words are never a diagnosis; they say what to do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from recovery import course

if TYPE_CHECKING:
    from recovery.models import Clinic

SYMPTOM_LABELS = {
    "swelling": "Swelling",
    "redness": "Redness",
    "bruising": "Bruising",
    "lumps": "Lumps or bumps",
    "pain": "Pain or tenderness",
    "itching": "Itching",
}

# (word, what it means) for each point of the scale.
RATING_WORDS = {
    0: ("None", ""),
    1: ("Mild", "I notice it, it doesn't bother me"),
    2: ("Moderate", "it bothers me, but I can do my usual activities"),
    3: ("Severe", "it stops me doing my usual activities"),
}


def rating_word(rating: object) -> str:
    """A rating's word ("Moderate"), or "Not answered" for none (or a kept version's
    rating that is not one)."""
    return RATING_WORDS[rating][0] if isinstance(rating, int) else "Not answered"


# The scale's words, once above the ratings: what Mild, Moderate and Severe mean.
SCALE_KEY = tuple((word, meaning) for word, meaning in RATING_WORDS.values() if meaning)

# The legend under each chart of My recovery (and the clinic's): (mark, words).
CHART_KEY = (
    ("band", "usual for this treatment"),
    ("line", "you"),
    ("above", "more than usual"),
    ("missed", "missed day"),
)
# A day of the table beside the charts that names no symptom.
TABLE_WORDS = {"all_none": "All None", "not_rated": "Not rated", "missed": "Missed"}

RED_FLAG_QUESTIONS = {
    "skin_color": (
        "Near an injection, is there a white or pale patch, a net-like or mottled grey, "
        "blue or purple pattern that is spreading or painful, or blisters or sores? "
        "(An ordinary bruise is not this.)"
    ),
    "severe_pain": "Is the pain severe, or getting worse instead of better?",
    "vision": "Any change in your eyesight, eye pain, double vision, or a drooping eyelid?",
    "stroke": (
        "Sudden trouble speaking, a drooping face, weakness or numbness in the face, an arm "
        "or a leg, trouble walking, a severe headache, dizziness or confusion?"
    ),
    "infection": (
        "Fever or chills, pus or fluid from an injection site, redness that is hot and "
        "spreading, or a lump that is warm, tender or growing?"
    ),
    "allergy": "Hives, swelling of the lips, tongue or throat, or trouble breathing?",
}

# What the patient said yes to, in a few words, for the result page.
RED_FLAG_SHORT = {
    "skin_color": "a pale, mottled or blistered patch of skin near an injection",
    "severe_pain": "severe pain, or pain getting worse",
    "vision": "a change in your eyesight or eyes",
    "stroke": "sudden trouble speaking, moving or feeling, a severe headache or confusion",
    "infection": "fever, pus, or hot, spreading redness or a growing lump",
    "allergy": "hives, swelling of the lips, tongue or throat, or trouble breathing",
}

# Under what to do, once a warning sign is ticked on the check-in (before it is sent).
SEND_NOW = "Send now so your clinic is told. The other questions can wait."


@dataclass(frozen=True)
class StatusWords:
    """A status in words: the patient's and the clinic's."""

    tag: str  # the patient's, above what to do (and CheckIn.Status's label)
    headline: str  # the patient's headline, where it names no clinic
    clinic: str  # the clinic's: a check-in on the timeline, an alert's level, a triage level


STATUS_WORDS = {
    course.Status.ON_TRACK: StatusWords("On track", "You're on track", "On track"),
    course.Status.WATCH: StatusWords("Keep an eye on it", "Keep an eye on it", "Watch"),
    course.Status.CONTACT_CLINIC: StatusWords(
        "Contact your clinic", "Please contact your clinic today", "Contact clinic"
    ),
    course.Status.URGENT: StatusWords(
        "Contact your clinic now", "Contact your clinic now", "Urgent"
    ),
}


@dataclass(frozen=True)
class Guidance:
    status: course.Status
    headline: str
    lines: tuple[str, ...]
    # Set when the patient must call the emergency number before anything else
    # (the page shows "Call <emergency number> now" first).
    call_emergency: bool = False
    call_clinic: bool = False


# What the patient is told of each reason (course.REASON_RULES): the warning sign in a few
# words, or the symptom with verbs that agree with it ("Lumps or bumps have lasted…").
REASON_WORDS = {
    "red_flag": "You told us about {sign}.",
    "persisting": "{symptom} {has} lasted longer than the expected one to two weeks.",
    "severe": "{symptom} {is} severe.",
    "worsening": "{symptom} {is} worse than at your last check-in.",
    "slow_to_improve": "{symptom} {is} taking longer than the usual week to settle.",
}
# Worse, but only mild (rule 5, watch): new, back again, or a little worse.
A_LITTLE_WORSE = "{symptom} {has_come} back or {is} a little worse than at your last check-in."

# The symptoms named in the plural ("Lumps or bumps have lasted…", not "has").
PLURAL_SYMPTOMS = frozenset({"lumps"})
_VERBS = {
    False: {"has": "has", "is": "is", "has_come": "has come"},
    True: {"has": "have", "is": "are", "has_come": "have come"},
}


def _reason_words(reason: str, status: course.Status) -> str:
    rule, code = reason.split(":", 1)
    if rule == "red_flag":
        return REASON_WORDS[rule].format(sign=RED_FLAG_SHORT[code])
    words = REASON_WORDS[rule]
    if rule == "worsening" and status is course.Status.WATCH:
        words = A_LITTLE_WORSE
    return words.format(symptom=SYMPTOM_LABELS[code], **_VERBS[code in PLURAL_SYMPTOMS])


def zone_words(time_zone: str) -> str:
    """A time zone as a patient reads it: "America/New_York" is "New York time"."""
    return time_zone.rsplit("/", 1)[-1].replace("_", " ") + " time"


def normal_today(day: int, values: course.CourseValues) -> str:
    """Reassurance: what is normal on this day of the course."""
    if day < values.early_days:
        return (
            "Swelling, redness, tenderness and bruising are normal in the first days "
            "and can grow a little before they settle."
        )
    if day <= values.typical_days:
        return "Swelling and bruising usually fade within a week."
    if day <= values.expected_max_days:
        return (
            "What is left of the swelling, redness or bruising should be fading; "
            "it is usually gone within two weeks."
        )
    return "Most people have no symptoms left by now."


NOTHING_TODAY = (
    "You have no symptoms today: that is good news. Keep checking in each day until "
    "your diary ends."
)


def guidance_for(
    *,
    status: course.Status,
    reasons: tuple[str, ...] | list[str],
    day: int,
    clinic_name: str,
    values: course.CourseValues,
    symptoms_left: bool = True,
) -> Guidance:
    """What the patient is told after a check-in (recovery-course.md, "What the patient is
    told"). `symptoms_left`: whether they rated anything above None; an all-clear day is
    not told that "what is left … should be fading"."""
    said = tuple(_reason_words(r, status) for r in reasons)
    if status is course.Status.URGENT:
        emergency = any(r.removeprefix("red_flag:") in course.EMERGENCY_RED_FLAGS for r in reasons)
        return Guidance(
            status,
            f"Contact {clinic_name} now — you need to be seen in person today",
            said,
            call_emergency=emergency,
            call_clinic=True,
        )
    if status is course.Status.CONTACT_CLINIC:
        return Guidance(status, f"Please contact {clinic_name} today", said, call_clinic=True)
    if status is course.Status.WATCH:
        if day > values.expected_max_days:
            then = "If it is still there tomorrow, contact your clinic."
        else:
            then = (
                f"If it is still there on day {values.expected_max_days + 1}, contact your clinic."
            )
        return Guidance(status, STATUS_WORDS[status].headline, (*said, then))
    if not symptoms_left:
        return Guidance(status, STATUS_WORDS[status].headline, (NOTHING_TODAY,))
    return Guidance(status, STATUS_WORDS[status].headline, (normal_today(day, values),))


# What the phone tells the patient offline ---------------------------------------------

SAVED_ON_PHONE = "Saved on this phone — it will be sent when you are back online"


def offline_contact(
    *, clinic: Clinic, values: course.CourseValues, day: int, time_zone: str
) -> dict[str, object]:
    """What the check-in page needs to tell a patient what to do without a connection.

    Embedded in the page as non-executable JSON (`#clinic-contact`) and kept by
    offline.js in IndexedDB; the words are these, not copies in JavaScript.
    `time_zone` is the patient's (IANA name): a check-in kept on the phone is dated by
    the phone's clock in that zone, not by the day the kept page was made for.
    """

    def urgent(*codes: str) -> Guidance:
        return guidance_for(
            status=course.Status.URGENT,
            reasons=[f"red_flag:{code}" for code in codes],
            day=day,
            clinic_name=clinic.name,
            values=values,
        )

    return {
        "clinic": clinic.name,
        "time_zone": time_zone,
        "phone": clinic.phone,
        "phone_uri": clinic.phone_uri,
        "after_hours_phone": clinic.after_hours_phone,
        "after_hours_uri": clinic.after_hours_uri if clinic.after_hours_phone else "",
        "hours": clinic.hours,
        "emergency_number": clinic.emergency_number,
        "emergency_uri": clinic.emergency_uri,
        "saved": SAVED_ON_PHONE,
        "status_label": STATUS_WORDS[course.Status.URGENT].tag,
        "urgent_headline": urgent().headline,
        "call_emergency": f"Call {clinic.emergency_number} now",
        "call_clinic": f"Call {clinic.name}: {clinic.phone}",
        "call_after_hours": (
            f"Clinic closed? Call {clinic.after_hours_phone}" if clinic.after_hours_phone else ""
        ),
        "hours_line": f"Open {clinic.hours}." if clinic.hours else "",
        "red_flags": list(course.RED_FLAGS),
        "emergency_flags": sorted(course.EMERGENCY_RED_FLAGS),
        "flag_lines": {code: urgent(code).lines[0] for code in course.RED_FLAGS},
        # Every rating needs an answer, and the warning signs one each or "None of these",
        # unless a sign is a yes.
        "questions": list(course.SYMPTOMS),
        "send_now_line": SEND_NOW,
    }


# What the clinic reads ---------------------------------------------------------------

# The dashboard's levels (models.Triage, by slug): the statuses, and what the days say.
TRIAGE_WORDS = {
    "urgent": STATUS_WORDS[course.Status.URGENT].clinic,
    "contact_clinic": STATUS_WORDS[course.Status.CONTACT_CLINIC].clinic,
    "missed_check_in": "Missed check-in",
    "watch": STATUS_WORDS[course.Status.WATCH].clinic,
    "on_track": STATUS_WORDS[course.Status.ON_TRACK].clinic,
    "diary_finished": "Diary finished",
}

# The long-term watch (course.Standing), in the clinic's words: the dashboard's group
# and the timeline.
STANDING_WORDS = {
    course.Standing.DUE: "Long-term check-in due",
    course.Standing.OVERDUE: "Long-term check-in overdue",
    course.Standing.ANSWERED_YES: "Long-term: answered yes",
    course.Standing.UP_TO_DATE: "Long-term: up to date",
    course.Standing.WAITING: "Long-term watch not started yet",
    course.Standing.ENDED: "Long-term watch ended",
    course.Standing.STOPPED: "Long-term watch stopped by the patient",
}

# The long-term check-in's context questions (course.LONG_TERM_CONTEXT): the patient's
# question, and the clinician's word for a yes.
LONG_TERM_CONTEXT_WORDS = {
    "recent_illness": ("A recent illness, such as flu or a cold?", "Recent illness"),
    "recent_vaccination": ("A recent vaccination?", "Recent vaccination"),
    "recent_dental_work": ("Recent dental work?", "Recent dental work"),
}
LONG_TERM_QUESTION = "Any new lump, hardness, redness or swelling at a treated area?"

# Each symptom in two letters, for the dashboard's ratings at a glance ("Sw 2 · Re 1").
SYMPTOM_SHORT = {
    "swelling": "Sw",
    "redness": "Re",
    "bruising": "Br",
    "lumps": "Lu",
    "pain": "Pa",
    "itching": "It",
}


def rating_heard(symptom: str, value: int | None) -> str:
    """One rating as a screen reader says it on the dashboard: "Swelling: 2, moderate"."""
    if value is None:
        return f"{SYMPTOM_LABELS[symptom]}: not rated"
    return f"{SYMPTOM_LABELS[symptom]}: {value}, {RATING_WORDS[value][0].lower()}"


def ago(then: dt.datetime, now: dt.datetime) -> str:
    """ "3 h ago", "2 days ago": how long ago, in the largest whole unit."""
    minutes = max(0, int((now - then).total_seconds())) // 60
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 24 * 60:
        return f"{minutes // 60} h ago"
    days = minutes // (24 * 60)
    return "1 day ago" if days == 1 else f"{days} days ago"


# What a "yes" to each red-flag question may mean (recovery-course.md), for the clinician.
CLINIC_RED_FLAG_WORDS = {
    "skin_color": "Pale, mottled or blistered skin near an injection (blocked blood vessel?)",
    "severe_pain": "Severe or worsening pain (blocked blood vessel or infection?)",
    "vision": "Eyesight or eye change (blocked blood vessel: emergency)",
    "stroke": "Signs of a stroke (emergency)",
    "infection": "Fever, pus, hot spreading redness or a growing lump (infection?)",
    "allergy": "Hives, swollen lips, tongue or throat, or trouble breathing (allergic reaction)",
}


# Each reason (course.REASON_RULES, and the long-term watch's) as the clinician reads it.
CLINIC_REASON_WORDS = {
    "red_flag": "Warning sign: {sign}",
    "persisting": "{symptom} lasting past the expected one to two weeks",
    "severe": "{symptom} severe",
    "worsening": "{symptom} worse than at the previous check-in",
    "slow_to_improve": "{symptom} still moderate or worse after the first week",
    course.LATE_LUMP: (
        "New lump, hardness, redness or swelling at a treated area (long-term watch)"
    ),
}


def clinic_reason_words(reason: str) -> str:
    """One reason of a check-in or an alert (`rule:code`), in the clinician's words."""
    rule, _, code = reason.partition(":")
    words = CLINIC_REASON_WORDS.get(rule)
    if words is None:
        return reason
    return words.format(
        sign=CLINIC_RED_FLAG_WORDS.get(code, code), symptom=SYMPTOM_LABELS.get(code, code)
    )


# Before treatment: the checklist (course.checklist_warnings) ---------------------------

SKIN_TEST_WORDS = {
    course.SkinTest.NEGATIVE: "Negative",
    course.SkinTest.POSITIVE: "Positive",
    course.SkinTest.EQUIVOCAL: "Equivocal",
    course.SkinTest.NOT_DONE: "Not done",
}


@dataclass(frozen=True)
class ContraindicationWords:
    question: str  # on the enrollment form
    recorded: str  # on the timeline, answered yes
    finding: str = ""  # what the warning says was recorded, if not `recorded`
    hint: str = ""  # under the question

    @property
    def warning(self) -> str:
        """At enrollment, answered yes (kept with the treatment's checklist)."""
        return f"{self.finding or self.recorded} recorded: a contraindication."


CONTRAINDICATION_WORDS = {
    "lidocaine_allergy": ContraindicationWords(
        "Lidocaine allergy or hypersensitivity?",
        "Lidocaine hypersensitivity",
        finding="Lidocaine allergy or hypersensitivity",
    ),
    "bovine_collagen_allergy": ContraindicationWords(
        "Allergy to any bovine (cow) collagen product?",
        "Allergy to a bovine collagen product",
        hint="Injectable collagen, collagen implants, haemostatic sponges, collagen-based sutures.",
    ),
    "anaphylaxis_history": ContraindicationWords(
        "History of anaphylaxis (a severe allergic reaction)?", "History of anaphylaxis"
    ),
    "multiple_severe_allergies": ContraindicationWords(
        "Multiple severe allergies?", "Multiple severe allergies"
    ),
    "keloid_tendency": ContraindicationWords(
        "Tendency to keloid or hypertrophic (raised) scars?",
        "Tendency to keloid or hypertrophic scarring",
    ),
}

# Each warning of the checklist, by its code: {age} the patient's on the treatment date,
# {when} the skin test's reading, {minimum_age} and {skin_test_days} the course's.
CHECKLIST_WARNINGS = {
    "under_22": (
        "The patient is {age} on the treatment date. "
        "Treatment is for adults over 21 ({minimum_age} or older)."
    ),
    "skin_test_positive": "Skin test read positive: a contraindication.",
    "skin_test_equivocal": "Skin test read equivocal: a contraindication.",
    "skin_test_missing": (
        "No negative skin test is recorded. Bellafill needs a skin test read negative at "
        "least {skin_test_days} days (four weeks) before treatment."
    ),
    "skin_test_too_recent": (
        "The skin test was read {when}. Bellafill needs it read negative at least "
        "{skin_test_days} days (four weeks) before treatment."
    ),
    **{code: words.warning for code, words in CONTRAINDICATION_WORDS.items()},
}


def checklist_warning(code: str, *, age: int, skin_test_days: int | None) -> str:
    """One warning of the checklist in words: `age` on the treatment date, `skin_test_days`
    from the skin test's reading to the treatment (None if it has no date)."""
    if skin_test_days is None or skin_test_days < 0:
        when = "after the treatment date"
    else:
        when = f"{skin_test_days} day{'s' if skin_test_days != 1 else ''} before treatment"
    return CHECKLIST_WARNINGS[code].format(
        age=age,
        when=when,
        minimum_age=course.MINIMUM_AGE,
        skin_test_days=course.SKIN_TEST_DAYS,
    )


# The long-term check-in, for the patient ------------------------------------------------

LONG_TERM_CONTEXT_HINT = (
    "For your clinic to know, not a warning sign: these can set off a little swelling "
    "near a filler."
)
LATE_LUMP_LINES = (
    "You told us about a new lump, hardness, redness or swelling at a treated area.",
    "This can happen months or years after Bellafill. Your clinic will want to see it.",
    "If it is hot, painful, spreading fast or you have a fever, call today, "
    "or the emergency number if you feel very unwell.",
)
LATE_ALL_CLEAR = "Thank you. Nothing new at your treated areas."


def late_lump_guidance(clinic_name: str) -> Guidance:
    """What a patient is told after a long-term check-in that said yes."""
    return Guidance(
        course.Status.CONTACT_CLINIC,
        f"Please contact {clinic_name} in the next few days",
        LATE_LUMP_LINES,
        call_clinic=True,
    )


# The clinic's long-term words: the dashboard's group, the timeline, the export ---------

# A long-term check-in's answer to the new-lump question, as the clinic reads it (None: no
# answer yet).
LATE_ANSWER_WORDS: dict[bool | None, str] = {
    True: "Yes: a new lump",
    False: "No new lump",
    None: "No answer yet",
}
LONG_TERM_GROUP_HEADING = "Long-term watch (Bellafill)"
# The timeline's long-term axis: what each mark is.
LONG_TERM_MARK_WORDS = {
    "due": "Due",
    "missed": "Missed (no answer)",
    "yes": "Answered yes (new lump)",
    "no": "Answered no",
    "today": "Today",
}
