"""What a UK PAYE tax code means, in plain words (HMRC's published meanings)."""

from __future__ import annotations

import re
from dataclasses import dataclass

CODE = re.compile(
    r"^(?P<country>[SC])?(?P<k>K)?(?P<number>\d{1,5})?(?P<suffix>[LMNT])?"
    r"(?P<special>BR|D0|D1|D2|NT|0T)?(?:\s*(?P<emergency>W1|M1|X|W1/M1))?$"
)

SUFFIXES = {
    "L": "you get the standard tax-free Personal Allowance",
    "M": "you have received 10% of your partner's Personal Allowance (Marriage Allowance)",
    "N": "you have transferred 10% of your Personal Allowance to your partner (Marriage Allowance)",
    "T": "HMRC needs to review other items in your tax code",
}
SPECIAL = {
    "BR": "all your income from this job is taxed at the basic rate (usually because it is a second job or pension)",
    "D0": "all your income from this job is taxed at the higher rate (usually a second job)",
    "D1": "all your income from this job is taxed at the additional rate (usually a second job)",
    "D2": "all your income from this job is taxed at the Scottish top rate",
    "NT": "you are not paying any tax on this income",
    "0T": "your Personal Allowance has been used up, or you started a new job without a P45",
}


@dataclass(frozen=True)
class TaxCodeMeaning:
    code: str
    points: tuple[str, ...]
    emergency: bool


def explain(code: str, basis: str = "cumulative") -> TaxCodeMeaning:
    """The meaning of each part of `code`; unknown codes get a safe, general answer."""
    normalised = " ".join(code.upper().split())
    match = CODE.match(normalised)
    points: list[str] = []
    emergency = basis == "week1month1"
    if not match or not normalised:
        return TaxCodeMeaning(
            normalised,
            ("HMRC sets your tax code; check it in your personal tax account or the HMRC app",),
            emergency,
        )
    parts = match.groupdict()
    if parts["number"] == "0" and parts["suffix"] == "T":  # 0T is a code of its own
        parts["number"], parts["suffix"], parts["special"] = None, None, "0T"
    if parts["country"] == "S":
        points.append("S means you pay Scottish income tax rates")
    elif parts["country"] == "C":
        points.append("C means you pay Welsh income tax rates")
    if parts["k"] and parts["number"]:
        points.append(
            f"K{parts['number']} means you have income that isn't taxed another way "
            f"(such as a company benefit) worth more than your allowance: about "
            f"£{int(parts['number']) * 10:,} is added to your taxable pay"
        )
    elif parts["number"] and parts["suffix"]:
        points.append(
            f"{parts['number']} means about £{int(parts['number']) * 10:,} of your "
            "income this tax year is tax-free"
        )
    if parts["suffix"]:
        points.append(f"{parts['suffix']} means {SUFFIXES[parts['suffix']]}")
    if parts["special"]:
        points.append(f"{parts['special']} means {SPECIAL[parts['special']]}")
    if parts["emergency"]:
        emergency = True
    if emergency:
        points.append(
            "it is an emergency code (week 1 / month 1 or X): each month is taxed on "
            "its own, without the allowance you didn't use earlier in the year, until "
            "HMRC sends us your proper code"
        )
    return TaxCodeMeaning(normalised, tuple(points), emergency)
