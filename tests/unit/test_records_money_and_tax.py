"""Money as integer pence, and tax codes in plain words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.demo.pay import monthly_pay
from bot.records.money import parse_pounds, percent_of, pounds
from bot.records.tax_codes import explain


@pytest.mark.parametrize(
    "pence, text", [(0, "£0.00"), (5, "£0.05"), (123456789, "£1,234,567.89"), (-1500, "-£15.00")]
)
def test_pounds(pence: int, text: str) -> None:
    assert pounds(pence) == text


@pytest.mark.parametrize(
    "text, pence",
    [
        ("£12.50", 1250),
        ("12.5", 1250),
        ("1,200", 120000),
        ("45p", 45),
        ("it was £0.99", 99),
        ("£23.4", 2340),
        ("no money here", None),
    ],
)
def test_parse_pounds(text: str, pence: int | None) -> None:
    assert parse_pounds(text) == pence


def test_percentages_round_half_up_to_the_penny() -> None:
    assert percent_of(1001, Decimal("5")) == 50  # 50.05
    assert percent_of(1010, Decimal("5")) == 51  # 50.5


def test_a_payslip_adds_up() -> None:
    gross, tax, ni, pension = monthly_pay(36_500_00, Decimal(1), Decimal("5.45"), scottish=False)
    assert gross == 304_167 and pension == 16_577
    assert 0 < tax < gross and 0 < ni < gross


@pytest.mark.parametrize(
    "code, expected",
    [
        (
            "1257L",
            [
                "£12,570 of your income this tax year is tax-free",
                "standard tax-free Personal Allowance",
            ],
        ),
        ("S1257L", ["Scottish income tax rates"]),
        ("C1257L", ["Welsh income tax rates"]),
        ("K475", ["about £4,750 is added to your taxable pay"]),
        ("BR", ["taxed at the basic rate"]),
        ("0T", ["Personal Allowance has been used up"]),
        ("1257L M1", ["emergency code"]),
        ("1185M", ["Marriage Allowance"]),
    ],
)
def test_tax_codes_are_explained(code: str, expected: list[str]) -> None:
    meaning = " ".join(explain(code).points)
    for phrase in expected:
        assert phrase in meaning


def test_a_cumulative_code_is_not_called_an_emergency_code() -> None:
    assert not explain("1257L").emergency
    assert explain("1257L", basis="week1month1").emergency


def test_an_unknown_code_gets_a_safe_answer() -> None:
    assert "HMRC" in explain("ZZ99??").points[0]
