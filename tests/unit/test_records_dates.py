"""Leave dates in the words people type, and corrections mid-form."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.records.dates import (
    DateNotUnderstood,
    DateRange,
    apply_correction,
    parse_leave_dates,
    parse_month,
    parse_past_date,
)

TODAY = dt.date(2026, 11, 26)  # Thursday
d = dt.date


@pytest.mark.parametrize(
    "text, start, end, half",
    [
        ("I want to take 3rd to 7th March off", d(2027, 3, 3), d(2027, 3, 7), None),
        ("3-7 march", d(2027, 3, 3), d(2027, 3, 7), None),
        ("March 3rd - 7th", d(2027, 3, 3), d(2027, 3, 7), None),
        ("from 3 March until 7 March 2027", d(2027, 3, 3), d(2027, 3, 7), None),
        ("next Friday", d(2026, 11, 27), d(2026, 11, 27), None),
        ("can I have Monday off", d(2026, 11, 30), d(2026, 11, 30), None),
        ("this Thursday", d(2026, 11, 26), d(2026, 11, 26), None),
        ("monday next week", d(2026, 11, 30), d(2026, 11, 30), None),
        ("next week", d(2026, 11, 30), d(2026, 12, 4), None),
        ("w/c 14 December", d(2026, 12, 14), d(2026, 12, 18), None),
        ("week commencing 9 February", d(2027, 2, 9), d(2027, 2, 12), None),
        ("half day on Friday afternoon", d(2026, 11, 27), d(2026, 11, 27), "afternoon"),
        ("tomorrow morning", d(2026, 11, 27), d(2026, 11, 27), "morning"),
        ("a half day on the 3rd", d(2026, 12, 3), d(2026, 12, 3), "half"),
        ("14/04 - 17/04", d(2027, 4, 14), d(2027, 4, 17), None),
        ("22/12/2026 to 02/01/2027", d(2026, 12, 22), d(2027, 1, 2), None),
        ("2027-01-05", d(2027, 1, 5), d(2027, 1, 5), None),
        ("book me 22 dec to 2 jan please", d(2026, 12, 22), d(2027, 1, 2), None),
        ("28th Dec to 2nd Jan", d(2026, 12, 28), d(2027, 1, 2), None),
        ("23rd to the 24th of December", d(2026, 12, 23), d(2026, 12, 24), None),
        ("the 8th", d(2026, 12, 8), d(2026, 12, 8), None),
        ("a flexi day on Monday 7 December", d(2026, 12, 7), d(2026, 12, 7), None),
        ("Friday the 11th", d(2026, 12, 11), d(2026, 12, 11), None),
        (
            "a long weekend, Friday 11th and Monday 14th December",
            d(2026, 12, 11),
            d(2026, 12, 14),
            None,
        ),
    ],
)
def test_leave_phrases(text: str, start: dt.date, end: dt.date, half: str | None) -> None:
    assert parse_leave_dates(text, TODAY) == DateRange(start, end, half)


@pytest.mark.parametrize(
    "text", ["book leave please", "I'd like 5 days off", "", "holiday", "3 to 7"]
)
def test_no_dates_is_said_so(text: str) -> None:
    with pytest.raises(DateNotUnderstood):
        parse_leave_dates(text, TODAY)


MARCH = DateRange(d(2027, 3, 3), d(2027, 3, 7))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("actually make that the 8th", DateRange(d(2027, 3, 3), d(2027, 3, 8))),
        ("finish on the 9th", DateRange(d(2027, 3, 3), d(2027, 3, 9))),
        ("start on the 4th instead", DateRange(d(2027, 3, 4), d(2027, 3, 7))),
        ("change it to the 2nd", DateRange(d(2027, 3, 2), d(2027, 3, 7))),
        ("make it 10th to 12th March", DateRange(d(2027, 3, 10), d(2027, 3, 12))),
    ],
)
def test_corrections_change_the_date_they_mean(text: str, expected: DateRange) -> None:
    assert apply_correction(text, MARCH, TODAY) == expected


def test_a_one_day_booking_moves() -> None:
    one_day = DateRange(d(2026, 12, 4), d(2026, 12, 4))
    assert apply_correction("sorry, I meant the 11th", one_day, TODAY) == DateRange(
        d(2026, 12, 11), d(2026, 12, 11)
    )


def test_a_correction_without_a_date_is_not_understood() -> None:
    with pytest.raises(DateNotUnderstood):
        apply_correction("hmm not sure", MARCH, TODAY)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("yesterday", d(2026, 11, 25)),
        ("today", TODAY),
        ("last Tuesday", d(2026, 11, 24)),
        ("on Monday", d(2026, 11, 23)),
        ("3 November", d(2026, 11, 3)),
        ("03/11", d(2026, 11, 3)),
        ("the 20th", d(2026, 11, 20)),
        ("1st Dec", d(2025, 12, 1)),
    ],
)
def test_past_dates_for_expenses(text: str, expected: dt.date) -> None:
    assert parse_past_date(text, TODAY) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cancel my leave in June", DateRange(d(2027, 6, 1), d(2027, 6, 30))),
        ("my holiday in November", DateRange(d(2026, 11, 1), d(2026, 11, 30))),
        ("leave for February 2027", DateRange(d(2027, 2, 1), d(2027, 2, 28))),
        ("may I cancel my leave", None),
        ("cancel my leave", None),
    ],
)
def test_a_month_on_its_own(text: str, expected: DateRange | None) -> None:
    assert parse_month(text, TODAY) == expected
