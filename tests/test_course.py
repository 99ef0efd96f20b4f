"""The recovery-course rules (recovery-course.md, "Status of one check-in"): no database."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recovery.course import (
    BELLAFILL,
    RED_FLAGS,
    SYMPTOMS,
    Answers,
    CourseValues,
    DatedAnswers,
    DatedAssessment,
    Status,
    assess,
    assess_timeline,
    day_number,
)

ON_TRACK, WATCH, CONTACT, URGENT = (
    Status.ON_TRACK,
    Status.WATCH,
    Status.CONTACT_CLINIC,
    Status.URGENT,
)
# A clinic that changed the product's 3 / 7 / 14 to 5 / 10 / 21.
SLOWER = CourseValues(early_days=5, typical_days=10, expected_max_days=21, diary_days=30)


def answers(*, flags: tuple[str, ...] = (), **ratings: int | None) -> Answers:
    """A check-in: every symptom 0 unless given."""
    assert set(ratings) <= set(SYMPTOMS)
    return Answers(ratings={s: ratings.get(s, 0) for s in SYMPTOMS}, red_flags=frozenset(flags))


NONE = answers()


def case(
    day: int,
    now: Answers,
    previous: Answers | None,
    status: Status,
    reasons: tuple[str, ...],
    *,
    id: str,
    course: CourseValues = BELLAFILL,
) -> object:
    return pytest.param(day, now, previous, course, (status, reasons), id=id)


CASES = [
    case(0, NONE, None, ON_TRACK, (), id="day 0 nothing to report"),
    case(30, NONE, NONE, ON_TRACK, (), id="day 30 nothing to report"),
    # 1. Red flags.
    case(
        0,
        answers(flags=("skin_color",)),
        None,
        URGENT,
        ("red_flag:skin_color",),
        id="pale patch on the day of treatment is urgent",
    ),
    case(
        10,
        answers(swelling=3, redness=2, flags=("vision",)),
        answers(swelling=1),
        URGENT,
        ("red_flag:vision",),
        id="a red flag outranks a severe worsening symptom, whose reasons are dropped",
    ),
    case(
        5,
        answers(flags=("allergy", "skin_color", "stroke")),
        NONE,
        URGENT,
        ("red_flag:skin_color", "red_flag:stroke", "red_flag:allergy"),
        id="several red flags are listed in question order",
    ),
    case(
        30,
        answers(flags=RED_FLAGS[::-1]),
        NONE,
        URGENT,
        tuple(f"red_flag:{flag}" for flag in RED_FLAGS),
        id="all six red flags on the last diary day",
    ),
    case(
        1,
        answers(flags=("severe_pain",), **dict.fromkeys(SYMPTOMS)),
        None,
        URGENT,
        ("red_flag:severe_pain",),
        id="something feels wrong before rating any symptom is urgent",
    ),
    # 2. Persisting past the expected two weeks.
    case(
        15,
        answers(swelling=1),
        answers(swelling=1),
        CONTACT,
        ("persisting:swelling",),
        id="day 15 mild swelling at two check-ins in a row persists",
    ),
    case(
        14,
        answers(swelling=1),
        answers(swelling=1),
        ON_TRACK,
        (),
        id="day 14 mild swelling at two check-ins in a row is still within two weeks",
    ),
    case(
        15,
        answers(redness=1),
        None,
        CONTACT,
        ("persisting:redness",),
        id="day 15 mild redness at the first check-in there is persists",
    ),
    case(
        14,
        answers(redness=1),
        None,
        ON_TRACK,
        (),
        id="day 14 mild redness at the first check-in there is is on track",
    ),
    case(
        15,
        answers(lumps=1),
        answers(lumps=0),
        WATCH,
        ("worsening:lumps",),
        id="day 15 a lump back after a lump-free check-in is watch first",
    ),
    case(
        16,
        answers(lumps=1),
        answers(lumps=1),
        CONTACT,
        ("persisting:lumps",),
        id="day 16 the lump back again the next check-in is contact clinic",
    ),
    case(
        15,
        answers(pain=1),
        answers(pain=2),
        CONTACT,
        ("persisting:pain",),
        id="day 15 pain improving from moderate to mild still persists",
    ),
    case(
        30,
        answers(swelling=2),
        answers(swelling=2),
        CONTACT,
        ("persisting:swelling",),
        id="day 30 moderate swelling persists and slow to improve is below that status",
    ),
    case(
        30,
        answers(itching=1),
        None,
        CONTACT,
        ("persisting:itching",),
        id="day 30 mild itching at the only check-in persists",
    ),
    case(
        20,
        answers(swelling=0),
        answers(swelling=2),
        ON_TRACK,
        (),
        id="day 20 swelling gone is on track",
    ),
    # 3. Severe, any day.
    case(
        0,
        answers(swelling=3),
        None,
        CONTACT,
        ("severe:swelling",),
        id="severe swelling on the day of treatment",
    ),
    case(
        1,
        answers(pain=3),
        answers(pain=1),
        CONTACT,
        ("severe:pain",),
        id="severe pain getting worse in the early days is severe but not worsening",
    ),
    case(
        3,
        answers(swelling=3),
        answers(swelling=1),
        CONTACT,
        ("severe:swelling", "worsening:swelling"),
        id="day 3 swelling from mild to severe is severe and worsening",
    ),
    # 4. Worse than before and now moderate or severe, after the early days.
    case(
        3,
        answers(bruising=2),
        answers(bruising=1),
        CONTACT,
        ("worsening:bruising",),
        id="day 3 bruising from mild to moderate is worsening",
    ),
    case(
        2,
        answers(bruising=2),
        answers(bruising=1),
        ON_TRACK,
        (),
        id="day 2 bruising from mild to moderate is expected early on",
    ),
    case(
        3,
        answers(swelling=2),
        None,
        ON_TRACK,
        (),
        id="day 3 moderate swelling with no previous check-in has nothing to be worse than",
    ),
    case(
        15,
        answers(redness=2),
        answers(redness=0),
        CONTACT,
        ("worsening:redness",),
        id="day 15 redness back as moderate is contact clinic at once",
    ),
    # 5. Worse than before and now mild, after the early days.
    case(
        3,
        answers(itching=1),
        answers(itching=0),
        WATCH,
        ("worsening:itching",),
        id="day 3 new mild itching is watch",
    ),
    case(
        2,
        answers(itching=1),
        answers(itching=0),
        ON_TRACK,
        (),
        id="day 2 new mild itching is expected early on",
    ),
    case(
        8,
        answers(lumps=1),
        answers(lumps=0),
        WATCH,
        ("worsening:lumps",),
        id="day 8 a new lump after the first week is watch",
    ),
    case(
        5,
        answers(swelling=1),
        None,
        ON_TRACK,
        (),
        id="day 5 mild swelling with no previous check-in is on track",
    ),
    # 6. Still moderate or severe after the typical week.
    case(
        8,
        answers(swelling=2),
        answers(swelling=2),
        WATCH,
        ("slow_to_improve:swelling",),
        id="day 8 moderate swelling unchanged is slow to improve",
    ),
    case(
        7,
        answers(swelling=2),
        answers(swelling=2),
        ON_TRACK,
        (),
        id="day 7 moderate swelling unchanged is within the typical week",
    ),
    case(
        8,
        answers(bruising=2),
        answers(bruising=3),
        WATCH,
        ("slow_to_improve:bruising",),
        id="day 8 bruising improving from severe to moderate is still slow to improve",
    ),
    case(
        8,
        answers(bruising=1),
        answers(bruising=1),
        ON_TRACK,
        (),
        id="day 8 mild bruising unchanged is on track",
    ),
    case(
        10,
        answers(redness=2),
        None,
        WATCH,
        ("slow_to_improve:redness",),
        id="day 10 moderate redness at the first check-in is slow to improve",
    ),
    # Several rules: reasons in rule order, then symptom order, at the final status only.
    case(
        15,
        answers(swelling=1, redness=2, pain=3),
        answers(swelling=1, redness=0, pain=1),
        CONTACT,
        (
            "persisting:swelling",
            "persisting:pain",
            "severe:pain",
            "worsening:redness",
            "worsening:pain",
        ),
        id="day 15 reasons by rule then by symptom",
    ),
    case(
        10,
        answers(swelling=2, lumps=1, itching=1),
        answers(swelling=2),
        WATCH,
        ("worsening:lumps", "worsening:itching", "slow_to_improve:swelling"),
        id="day 10 watch reasons by rule then by symptom",
    ),
    case(
        10,
        answers(swelling=2, redness=3, itching=1),
        answers(swelling=2, redness=3),
        CONTACT,
        ("severe:redness",),
        id="day 10 watch reasons are dropped once a rule says contact clinic",
    ),
    case(
        9,
        answers(swelling=3, redness=3, bruising=3, lumps=3, pain=3, itching=3),
        answers(swelling=3, redness=3, bruising=3, lumps=3, pain=3, itching=3),
        CONTACT,
        tuple(f"severe:{s}" for s in SYMPTOMS),
        id="day 9 everything severe lists every symptom in symptom order",
    ),
    # A missing rating fires nothing and compares with nothing.
    case(
        20,
        answers(swelling=None, redness=None),
        None,
        ON_TRACK,
        (),
        id="day 20 missing ratings with no previous check-in fire nothing",
    ),
    case(
        5,
        answers(swelling=2),
        answers(swelling=None),
        ON_TRACK,
        (),
        id="day 5 moderate swelling is not worse than a missing rating",
    ),
    case(
        20,
        answers(swelling=1),
        answers(swelling=None),
        ON_TRACK,
        (),
        id="day 20 mild swelling after a missing rating is not two check-ins in a row",
    ),
    case(
        5,
        answers(swelling=None),
        answers(swelling=3),
        ON_TRACK,
        (),
        id="day 5 a missing rating after a severe one is not an improvement or a worsening",
    ),
    # A clinic changing 3 / 7 / 14 to 5 / 10 / 21 shifts every boundary.
    case(
        4,
        answers(bruising=2),
        answers(bruising=1),
        ON_TRACK,
        (),
        course=SLOWER,
        id="clinic early window 5: day 4 worsening is expected",
    ),
    case(
        5,
        answers(bruising=2),
        answers(bruising=1),
        CONTACT,
        ("worsening:bruising",),
        course=SLOWER,
        id="clinic early window 5: day 5 worsening counts",
    ),
    case(
        10,
        answers(swelling=2),
        answers(swelling=2),
        ON_TRACK,
        (),
        course=SLOWER,
        id="clinic typical 10 days: day 10 moderate swelling is on track",
    ),
    case(
        11,
        answers(swelling=2),
        answers(swelling=2),
        WATCH,
        ("slow_to_improve:swelling",),
        course=SLOWER,
        id="clinic typical 10 days: day 11 moderate swelling is slow to improve",
    ),
    case(
        21,
        answers(swelling=1),
        answers(swelling=1),
        ON_TRACK,
        (),
        course=SLOWER,
        id="clinic expected maximum 21 days: day 21 mild swelling twice is on track",
    ),
    case(
        22,
        answers(swelling=1),
        answers(swelling=1),
        CONTACT,
        ("persisting:swelling",),
        course=SLOWER,
        id="clinic expected maximum 21 days: day 22 mild swelling twice persists",
    ),
]


@pytest.mark.parametrize(("day", "now", "previous", "course", "expected"), CASES)
def test_assess(
    day: int,
    now: Answers,
    previous: Answers | None,
    course: CourseValues,
    expected: tuple[Status, tuple[str, ...]],
) -> None:
    result = assess(day=day, answers=now, previous=previous, course=course)
    assert (result.status, result.reasons) == expected


def test_course_defaults_are_those_of_the_rule_book() -> None:
    course = BELLAFILL
    assert (course.early_days, course.typical_days, course.expected_max_days) == (3, 7, 14)
    assert course.diary_days == 30


# assess_timeline


TREATED_ON = dt.date(2026, 11, 1)


def on(day: int) -> dt.date:
    return TREATED_ON + dt.timedelta(days=day)


def summary(
    results: list[DatedAssessment],
) -> list[tuple[dt.date, int, Status, tuple[str, ...]]]:
    return [(r.date, r.day, r.assessment.status, r.assessment.reasons) for r in results]


def test_timeline_out_of_order_is_assessed_in_date_order_each_against_the_one_before() -> None:
    check_ins = [
        DatedAnswers(on(16), answers(lumps=1)),
        DatedAnswers(on(3), answers(swelling=1)),
        DatedAnswers(on(15), answers(lumps=1)),
        DatedAnswers(on(1), answers(swelling=2)),
        DatedAnswers(on(4), answers(swelling=2)),
    ]
    results = assess_timeline(treated_on=TREATED_ON, check_ins=check_ins)
    assert summary(results) == [
        (on(1), 1, ON_TRACK, ()),
        (on(3), 3, ON_TRACK, ()),  # better than day 1
        (on(4), 4, CONTACT, ("worsening:swelling",)),  # worse than day 3, not day 1
        (on(15), 15, WATCH, ("worsening:lumps",)),  # the lump is back after day 14
        (on(16), 16, CONTACT, ("persisting:lumps",)),  # and still there the next day
    ]


def test_timeline_first_check_in_has_no_previous() -> None:
    results = assess_timeline(
        treated_on=TREATED_ON, check_ins=[DatedAnswers(on(20), answers(redness=1))]
    )
    assert summary(results) == [(on(20), 20, CONTACT, ("persisting:redness",))]


def test_timeline_of_nothing_is_empty() -> None:
    assert assess_timeline(treated_on=TREATED_ON, check_ins=[]) == []


def test_timeline_uses_the_course_it_is_given() -> None:
    check_ins = [DatedAnswers(on(8), answers(swelling=2)), DatedAnswers(on(7), answers(swelling=2))]
    assert [
        r.assessment.status for r in assess_timeline(treated_on=TREATED_ON, check_ins=check_ins)
    ] == [
        ON_TRACK,
        WATCH,
    ]
    slower = assess_timeline(treated_on=TREATED_ON, check_ins=check_ins, course=SLOWER)
    assert [r.assessment.status for r in slower] == [ON_TRACK, ON_TRACK]


@pytest.mark.parametrize(
    ("treated_on", "local_date", "day"),
    [
        pytest.param(dt.date(2026, 11, 1), dt.date(2026, 11, 1), 0, id="treatment day is day 0"),
        pytest.param(dt.date(2026, 11, 1), dt.date(2026, 11, 2), 1, id="next day is day 1"),
        pytest.param(
            dt.date(2026, 12, 17), dt.date(2027, 1, 16), 30, id="diary ends across a new year"
        ),
        pytest.param(dt.date(2028, 2, 27), dt.date(2028, 3, 1), 3, id="leap day counts as a day"),
        pytest.param(
            dt.date(2026, 3, 7), dt.date(2026, 3, 9), 2, id="daylight saving change is one day"
        ),
    ],
)
def test_day_number(treated_on: dt.date, local_date: dt.date, day: int) -> None:
    assert day_number(treated_on, local_date) == day
    [result] = assess_timeline(treated_on=treated_on, check_ins=[DatedAnswers(local_date, NONE)])
    assert result.day == day


# Properties

ratings_st = st.fixed_dictionaries({s: st.none() | st.integers(0, 3) for s in SYMPTOMS})
flags_st = st.frozensets(st.sampled_from(RED_FLAGS))
answers_st = st.builds(Answers, ratings=ratings_st, red_flags=flags_st)
calm_answers_st = st.builds(Answers, ratings=ratings_st)  # no red flag
day_st = st.integers(0, 30)


@st.composite
def courses(draw: st.DrawFn) -> CourseValues:
    early = draw(st.integers(1, 10))
    typical = draw(st.integers(early, 15))
    expected_max = draw(st.integers(typical, 25))
    return CourseValues(early, typical, expected_max, draw(st.integers(expected_max, 40)))


course_st = st.just(BELLAFILL) | courses()
REASON = re.compile(
    rf"red_flag:({'|'.join(RED_FLAGS)})"
    rf"|(persisting|severe|worsening|slow_to_improve):({'|'.join(SYMPTOMS)})"
)


@given(day=day_st, now=answers_st, previous=st.none() | answers_st, course=course_st)
def test_any_red_flag_is_urgent_for_the_red_flags_alone(
    day: int, now: Answers, previous: Answers | None, course: CourseValues
) -> None:
    result = assess(day=day, answers=now, previous=previous, course=course)
    if now.red_flags:
        assert result.status == URGENT
        assert result.reasons == tuple(f"red_flag:{f}" for f in RED_FLAGS if f in now.red_flags)
    else:
        assert result.status != URGENT


@given(
    day=day_st,
    now=answers_st,
    previous=st.none() | answers_st,
    course=course_st,
    symptom=st.sampled_from(SYMPTOMS),
    data=st.data(),
)
def test_a_higher_rating_never_lowers_the_status(
    day: int,
    now: Answers,
    previous: Answers | None,
    course: CourseValues,
    symptom: str,
    data: st.DataObject,
) -> None:
    rating = now.ratings[symptom]
    if rating == 3:
        return
    higher = data.draw(st.integers(0 if rating is None else rating + 1, 3))
    raised = Answers(ratings={**now.ratings, symptom: higher}, red_flags=now.red_flags)
    before = assess(day=day, answers=now, previous=previous, course=course)
    after = assess(day=day, answers=raised, previous=previous, course=course)
    assert after.status.rank >= before.status.rank


@given(day=day_st, now=answers_st, previous=st.none() | answers_st, course=course_st)
def test_reasons_are_well_formed_unique_and_match_the_status(
    day: int, now: Answers, previous: Answers | None, course: CourseValues
) -> None:
    result = assess(day=day, answers=now, previous=previous, course=course)
    assert (result.status == ON_TRACK) == (result.reasons == ())
    assert len(set(result.reasons)) == len(result.reasons)
    for reason in result.reasons:
        assert REASON.fullmatch(reason), reason
        rule, _, name = reason.partition(":")
        # Each reason's rule is one that gives exactly the final status.
        rule_status = {
            "red_flag": URGENT,
            "persisting": CONTACT,
            "severe": CONTACT,
            "worsening": CONTACT if (now.ratings.get(name) or 0) >= 2 else WATCH,
            "slow_to_improve": WATCH,
        }[rule]
        assert rule_status == result.status, reason


@given(day=day_st, now=answers_st, previous=st.none() | answers_st, course=course_st)
def test_the_result_is_deterministic(
    day: int, now: Answers, previous: Answers | None, course: CourseValues
) -> None:
    reordered = Answers(
        ratings=dict(reversed(list(now.ratings.items()))),
        red_flags=now.red_flags,
    )
    first = assess(day=day, answers=now, previous=previous, course=course)
    assert assess(day=day, answers=now, previous=previous, course=course) == first
    assert assess(day=day, answers=reordered, previous=previous, course=course) == first


@given(now=calm_answers_st, previous=st.none() | answers_st, course=course_st, data=st.data())
def test_before_the_early_window_only_a_severe_rating_or_red_flag_warns(
    now: Answers, previous: Answers | None, course: CourseValues, data: st.DataObject
) -> None:
    day = data.draw(st.integers(0, course.early_days - 1))
    result = assess(day=day, answers=now, previous=previous, course=course)
    if 3 not in now.ratings.values():
        assert result.status == ON_TRACK
    else:
        assert result.status == CONTACT
        assert all(reason.startswith("severe:") for reason in result.reasons)


@given(
    check_ins=st.lists(
        st.builds(DatedAnswers, date=st.builds(on, day_st), answers=answers_st),
        unique_by=lambda c: c.date,
        max_size=8,
    ),
    course=course_st,
    shuffle=st.randoms(use_true_random=False),
)
def test_timeline_order_of_input_does_not_matter(
    check_ins: list[DatedAnswers], course: CourseValues, shuffle: random.Random
) -> None:
    in_order = sorted(check_ins, key=lambda c: c.date)
    expected = []
    previous = None
    for item in in_order:
        day = day_number(TREATED_ON, item.date)
        expected.append(
            (
                item.date,
                day,
                assess(day=day, answers=item.answers, previous=previous, course=course),
            )
        )
        previous = item.answers
    shuffled = list(check_ins)
    shuffle.shuffle(shuffled)
    results = assess_timeline(treated_on=TREATED_ON, check_ins=shuffled, course=course)
    assert [(r.date, r.day, r.assessment) for r in results] == expected
