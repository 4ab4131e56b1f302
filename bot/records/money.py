"""Money is integer pence everywhere; these are the only conversions to and from text."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

AMOUNT = re.compile(r"£?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s*(p|pence)?\b", re.I)


def pounds(pence: int) -> str:
    """1234567 → '£12,345.67'; negative amounts keep their sign in front of the £."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(int(pence)), 100)
    return f"{sign}£{whole:,}.{part:02d}"


def parse_pounds(text: str) -> int | None:
    """'£12.50', '12.5', '1,200', '45p' → pence; None if there is no amount."""
    match = AMOUNT.search(text or "")
    if not match:
        return None
    whole, fraction, pence_suffix = match.groups()
    digits = whole.replace(",", "")
    if pence_suffix and fraction is None:
        return int(digits)
    try:
        value = Decimal(f"{digits}.{fraction or '0'}")
    except InvalidOperation:
        return None
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_of(pence: int, rate: Decimal) -> int:
    """`rate` per cent of an amount, rounded half up to the penny."""
    return int((Decimal(pence) * rate / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
