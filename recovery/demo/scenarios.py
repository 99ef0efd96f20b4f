"""The demo's scenarios, as data: a typical recovery, and for each demo patient the
day of the diary they are on today, the days they checked in and how they felt.

Every status, reason and alert follows from these answers by the rules of
`recovery.course`, as the live app applies them; nothing here says what they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TypedDict
from zoneinfo import ZoneInfo

from recovery import course
from recovery.demo.clinics import HARBOUR, RIVERSIDE, ClinicDetails
from recovery.models import Clinician

# One day's ratings, in the order of course.SYMPTOMS:
# (swelling, redness, bruising, lumps, pain, itching), each 0 (none) to 3 (severe).
Ratings = tuple[int, int, int, int, int, int]

# A typical recovery after Bellafill, day by day; from day 7 on, nothing.
TYPICAL_COURSE: tuple[Ratings, ...] = (
    (2, 1, 1, 1, 2, 0),  # day 0: just treated, puffy and tender
    (2, 1, 2, 1, 1, 0),  # day 1: the bruises show
    (2, 1, 1, 1, 1, 1),  # day 2: a little itchy
    (1, 1, 1, 1, 1, 1),
    (1, 0, 1, 1, 0, 0),
    (1, 0, 0, 1, 0, 0),
    (1, 0, 0, 0, 0, 0),
)
NOTHING: Ratings = (0, 0, 0, 0, 0, 0)


def typical(day: int) -> Ratings:
    return TYPICAL_COURSE[day] if day < len(TYPICAL_COURSE) else NOTHING


def at_least(ratings: Ratings, *, symptom: str, rating: int) -> Ratings:
    """`ratings` with `symptom` raised to `rating` if it was lower."""
    index = course.SYMPTOMS.index(symptom)
    values = list(ratings)
    values[index] = max(values[index], rating)
    return (values[0], values[1], values[2], values[3], values[4], values[5])


@dataclass(frozen=True)
class Entry:
    """One day of a demo diary."""

    day: int
    ratings: Ratings
    red_flags: tuple[str, ...] = ()
    note: str = ""

    def answers(self) -> course.Answers:
        return course.Answers(
            ratings=dict(zip(course.SYMPTOMS, self.ratings, strict=True)),
            red_flags=frozenset(self.red_flags),
        )


def days(first: int, last: int, *, missed: Collection[int] = ()) -> tuple[int, ...]:
    """The days from `first` to `last`, but those `missed`."""
    return tuple(d for d in range(first, last + 1) if d not in missed)


@dataclass(frozen=True)
class Scenario:
    """One patient's diary: a typical recovery (TYPICAL_COURSE) on the days they checked
    in, but for what is said otherwise."""

    label: str  # what the clinic should see, e.g. "slow to improve"
    days_since_treatment: int  # today is this day of the diary
    checked_in: tuple[int, ...]  # the days of the diary with a check-in
    # (symptom, rating): that symptom is rated at least this on every day.
    lasting: tuple[str, int] | None = None
    # day: (symptom, rating): on that day, that symptom is rated at least this.
    worse: Mapping[int, tuple[str, int]] = field(default_factory=dict)
    red_flags: Mapping[int, tuple[str, ...]] = field(default_factory=dict)  # answered yes
    notes: Mapping[int, str] = field(default_factory=dict)

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The check-ins, day by day."""
        entries = []
        for day in self.checked_in:
            ratings = typical(day)
            for raised in (self.lasting, self.worse.get(day)):
                if raised is not None:
                    ratings = at_least(ratings, symptom=raised[0], rating=raised[1])
            entries.append(
                Entry(day, ratings, self.red_flags.get(day, ()), self.notes.get(day, ""))
            )
        return tuple(entries)


# The demo patients' diaries, one a few lines: the label, the day it is today and the days
# checked in (with what lasts), then what the patient said on which day. Their statuses and
# alerts are not written here: they follow from the answers, by the course's rules, as each
# check-in is recorded.
# fmt: off
ON_TRACK = Scenario(
    "on track", days_since_treatment=5, checked_in=days(0, 5),
    notes={0: "Home from the clinic, cheeks a bit puffy.", 5: "Hardly any swelling left."},
)
SLOW_TO_IMPROVE = Scenario(
    "slow to improve", days_since_treatment=10, checked_in=days(0, 10, missed={6}),
    lasting=("swelling", 2), notes={9: "Left cheek still swollen in the mornings."},
)
PERSISTING = Scenario(
    "persisting past day 14", days_since_treatment=17, checked_in=days(0, 17, missed={6, 11}),
    lasting=("lumps", 1),
    notes={15: "Two small bumps under the left cheek, not sore.", 17: "Bumps still there."},
)
RED_FLAG = Scenario(
    "red flag", days_since_treatment=2, checked_in=days(0, 2),
    worse={2: ("pain", 2)}, red_flags={2: ("skin_color",)},
    notes={2: "A pale, blotchy patch near one injection on the right cheek; it hurts more."},
)
MISSED_CHECK_INS = Scenario(
    "missed check-ins since day 4", days_since_treatment=8, checked_in=days(0, 4),
)
DIARY_FINISHED = Scenario(
    "diary finished", days_since_treatment=40,
    checked_in=days(0, 30, missed={6, 9, 13, 18, 19, 24, 27}),
    notes={30: "All settled, thank you!"},
)
EARLY_DAYS = Scenario("on track", days_since_treatment=3, checked_in=days(0, 3))
NEW_LUMP = Scenario(
    "a new lump after the first week", days_since_treatment=9, checked_in=days(0, 9),
    worse={9: ("lumps", 1)}, notes={9: "Small bump near my lip."},
)
WORSE_AGAIN = Scenario(
    "swelling worse again", days_since_treatment=4, checked_in=days(0, 4),
    worse={4: ("swelling", 2)}, notes={4: "Puffier today."},
)
# fmt: on


@dataclass(frozen=True)
class PatientSpec:
    name: str
    email: str
    date_of_birth: dt.date
    scenario: Scenario
    mobile: str = ""
    time_zone: str = ""  # the clinic's unless set
    language: str = "en"
    product: str = "bellafill"
    areas: str = "left and right cheek"


class Otherwise(TypedDict, total=False):
    """What a demo patient has that is not as PatientSpec's defaults."""

    time_zone: str
    language: str
    product: str
    areas: str


# name, email, date of birth, diary, mobile
PatientRow = tuple[str, str, str, Scenario, str]


def patients(
    *rows: PatientRow, otherwise: Mapping[str, Otherwise] | None = None
) -> tuple[PatientSpec, ...]:
    """A PatientSpec a row, and what `otherwise` says for that row's email."""
    return tuple(
        PatientSpec(
            name,
            email,
            dt.date.fromisoformat(born),
            scenario,
            mobile,
            **(otherwise or {}).get(email, Otherwise()),
        )
        for name, email, born, scenario, mobile in rows
    )


@dataclass(frozen=True)
class ClinicianSpec:
    username: str
    first_name: str
    last_name: str
    role: Clinician.Role


@dataclass(frozen=True)
class ClinicSpec:
    clinic: ClinicDetails
    alert_email: str  # where the demo's alerts go: printed by make run's console backend
    password: str  # of every clinician of the demo clinic, printed for `make run`
    clinicians: tuple[ClinicianSpec, ...]
    patients: tuple[PatientSpec, ...]


# The demo clinics' patients: in the clinic's time zone, in English and treated with
# Bellafill in both cheeks, but for what `otherwise` says.
RIVERSIDE_PATIENTS = patients(
    ("Ana Silva", "ana.demo@example.com", "1988-04-12", ON_TRACK, "+1 212 555 0101"),
    ("Ben Carter", "ben.demo@example.com", "1979-09-03", SLOW_TO_IMPROVE, "+1 212 555 0102"),
    ("Chloe Nguyen", "chloe.demo@example.com", "1992-01-27", PERSISTING, "+1 212 555 0103"),
    ("David Okafor", "david.demo@example.com", "1985-06-18", RED_FLAG, "+1 212 555 0104"),
    ("Emma Rossi", "emma.demo@example.com", "1990-11-05", MISSED_CHECK_INS, "+1 312 555 0105"),
    ("Farah Haddad", "farah.demo@example.com", "1982-03-30", DIARY_FINISHED, "+1 212 555 0106"),
    otherwise={
        "emma.demo@example.com": {"time_zone": "America/Chicago"},
        "farah.demo@example.com": {"product": "dermal-filler", "areas": "nasolabial folds"},
    },
)
HARBOUR_PATIENTS = patients(
    ("Oliver Bennett", "oliver.demo@example.com", "1987-08-14", EARLY_DAYS, "+44 7700 900101"),
    ("Lucía Fernández", "lucia.demo@example.com", "1983-05-09", NEW_LUMP, "+34 600 000 102"),
    ("Priya Shah", "priya.demo@example.com", "1995-02-21", WORSE_AGAIN, "+44 7700 900103"),
    otherwise={"lucia.demo@example.com": {"time_zone": "Europe/Madrid", "language": "es"}},
)

# fmt: off
RIVERSIDE_DEMO = ClinicSpec(
    RIVERSIDE, alert_email="alerts@demo-clinic.example", password="demo-clinic-2026",
    clinicians=(
        ClinicianSpec("nurse@demo-clinic.example", "Nora", "Price", Clinician.Role.ADMIN),
        ClinicianSpec("doctor@demo-clinic.example", "Daniel", "Reyes", Clinician.Role.CLINICIAN),
    ),
    patients=RIVERSIDE_PATIENTS,
)
HARBOUR_DEMO = ClinicSpec(
    HARBOUR, alert_email="alerts@harbour-demo.example", password="demo-harbour-2026",
    clinicians=(
        ClinicianSpec("nurse@harbour-demo.example", "Hannah", "Blake", Clinician.Role.CLINICIAN),
    ),
    patients=HARBOUR_PATIENTS,
)
# fmt: on
DEMO_CLINICS = (RIVERSIDE_DEMO, HARBOUR_DEMO)


def sent_at(*, on: dt.date, day: int, time_zone: str, now: dt.datetime) -> dt.datetime:
    """When a demo check-in was sent: at a quarter past 8 to 19 o'clock by the day of the
    diary, in the patient's time zone, but never later than `now`."""
    hour = 8 + day % 12
    return min(dt.datetime.combine(on, dt.time(hour, 17), tzinfo=ZoneInfo(time_zone)), now)
