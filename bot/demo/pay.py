"""The pay arithmetic of the demo's payslips: a simplified 2026-27 PAYE month, and the civil
service pension's member rates."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bot.backoffice.types import PensionScheme

D = Decimal
PERSONAL_ALLOWANCE_PENCE = 1_257_000
EMPLOYER_RATE = D("28.97")  # % of pensionable pay, for every scheme but opted out
MEMBER_RATES = {  # alpha's depends on earnings (`alpha_rate`)
    PensionScheme.CLASSIC: D("4.60"),
    PensionScheme.PARTNERSHIP: D("3.00"),
    PensionScheme.OPTED_OUT: D("0.00"),
}


def round_half(value: Decimal) -> Decimal:
    """To the nearest half day."""
    return (value * 2).quantize(D(1), rounding=ROUND_HALF_UP) / 2


def alpha_rate(annual_full_time_pence: int) -> Decimal:
    """alpha member contribution tiers (by full-time equivalent pensionable earnings)."""
    pounds = annual_full_time_pence / 100
    for limit, rate in ((32_000, "4.60"), (56_000, "5.45"), (150_000, "7.35")):
        if pounds <= limit:
            return D(rate)
    return D("8.05")


def member_rate(scheme: PensionScheme, annual_full_time_pence: int) -> Decimal:
    if scheme is PensionScheme.ALPHA:
        return alpha_rate(annual_full_time_pence)
    return MEMBER_RATES[scheme]


def employer_rate(scheme: PensionScheme) -> Decimal:
    return EMPLOYER_RATE if scheme is not PensionScheme.OPTED_OUT else D("0.00")


def allowance_of(tax_code: str) -> int:
    """The yearly personal allowance the demo's tax codes carry, in pence."""
    return PERSONAL_ALLOWANCE_PENCE if "1257" in tax_code else (
        1_100_000 if "1100" in tax_code else 0)


def monthly_pay(
    annual_pence: int, fte: Decimal, rate: Decimal, scottish: bool,
    allowance_pence: int = PERSONAL_ALLOWANCE_PENCE,
) -> tuple[int, int, int, int]:
    """(gross, tax, NI, pension) for one month, a simplified 2026-27 PAYE calculation."""
    gross = int((D(annual_pence) * fte / 12).quantize(D(1), rounding=ROUND_HALF_UP))
    pension = int((D(gross) * rate / 100).quantize(D(1), rounding=ROUND_HALF_UP))
    taxable = max(0, gross - pension - allowance_pence // 12)
    basic_band = 3_770_000 // 12
    rate_basic = D("0.20") if not scottish else D("0.21")
    tax = int(
        D(min(taxable, basic_band)) * rate_basic + D(max(0, taxable - basic_band)) * D("0.40")
    )
    ni = int(
        max(0, min(gross, 418_900) - 104_800) * D("0.08") + max(0, gross - 418_900) * D("0.02")
    )
    return gross, tax, ni, pension
