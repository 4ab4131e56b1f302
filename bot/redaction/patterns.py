"""Personal data that has a shape: found by regular expressions, checksums and nearby cue words.

Each detector yields `Finding`s (character spans with a kind and a priority); the redactor
(`bot.redaction`) keeps the best of any overlapping ones. Formats, with their sources:

- e-mail addresses: the common `local@domain.tld` shape (RFC 5322's full grammar is not needed
  to hide an address, and would match text that is not one);
- National Insurance numbers: two letters, six digits, a suffix letter (HMRC's NIM39110: the
  first letter is not D, F, I, Q, U or V, the second not D, F, I, O, Q, U or V; BG, GB, KN, NK,
  NT, TN and ZZ are not allocated, but temporary numbers use TN, so they are kept). People type
  what is on their letter, so the suffix may be any letter and HMRC's example prefix QQ is
  accepted; a lower-case two-letter English word
  ("is 12 34 56") never starts one;
- payment card numbers: 13 to 19 digits, ungrouped or in groups of four (American Express
  4-6-5), that pass the Luhn check (ISO/IEC 7812-1);
- UK phone numbers: +44 or a leading 0, then 9 or 10 digits (Ofcom's National Telephone
  Numbering Plan), spaces, dashes and a bracketed area code allowed;
- bank sort codes (six digits, in pairs) and account numbers (7 to 10 digits, Pay.UK's
  modulus-checking specification allows these lengths), by their cue words or side by side;
- UK postcodes: the outward code (area, district) and inward code (sector, unit) of the Royal
  Mail's Postcode Address File;
- employee numbers: the helpdesk directory's `E` + digits, or digits after "staff/payroll/
  employee number";
- reference numbers another body gave the person: NHS numbers (3-3-4 digits passing the NHS
  modulus 11 check, or any 10 digits after "NHS"), HMRC's ten-digit Unique Taxpayer Reference
  and passport numbers after their cue words, DVLA driving licence numbers (16 characters:
  surname, birth date, initials, check digits), pension member numbers after their cue;
- dates of birth: a date with a year, near "born", "date of birth", "DOB" or "birthday";
- street addresses: a house number and a street name ending in a street word (Road, Lane...),
  optionally after "Flat 3,"; named buildings (... House, ... Court).

Helpdesk references (HR-000123, EXP-000045, PO-2024-0031) are not personal data and are kept:
agents need them, and every use of them is audited.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """A span of text that holds personal data of `kind`."""

    start: int
    end: int
    kind: str
    priority: int
    source: str = "pattern"


# --- cue words: what a bare number is, judged by the nearest cue before it ----------------------

CUE_WINDOW = 45
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sort_code", re.compile(r"\bsort(?:\s*code)?s?\b|\bs/c\b|\bsortcode\b", re.I)),
    ("account_number", re.compile(
        r"\b(?:account|acc|acct|a/c)\b(?:\s*(?:number|no\.?|num)\b)?", re.I)),
    ("employee_number", re.compile(
        r"\b(?:staff|payroll|employee|emp|personnel)(?:\s*(?:number|no\.?|num|id|ref)\b|'s|\b)",
        re.I)),
    ("nhs", re.compile(r"\bNHS\b", re.I)),
    ("utr", re.compile(r"\bUTR\b|\btax\s*payer\s+reference\b|\bself[- ]assessment\b", re.I)),
    ("passport", re.compile(r"\bpassport\b", re.I)),
    ("member", re.compile(
        r"\b(?:member(?:ship)?\s+(?:number|no\.?|ref(?:erence)?)|pension\s+(?:ref(?:erence)?|"
        r"number)|scheme\s+ref(?:erence)?|reference)\b", re.I)),
    ("birth", re.compile(r"\bborn\b|\bbirth\b|\bbirthday\b|\bDOB\b|\bd\.\s?o\.\s?b\b\.?", re.I)),
    ("phone", re.compile(r"\b(?:phone|mobile|tel|telephone|landline|ring|call)\b", re.I)),
)
# A sentence ends the reach of a cue: "my staff number is E1. Call 0113..." is two sentences;
# the full stop of an abbreviation ("no.", "d.o.b.", "Dr.") does not end one.
_SENTENCE_END = re.compile(
    r"(?<!\b[A-Za-z])(?<!\bno)(?<!\bNo)(?<!\bref)(?<!\bRef)(?<!\btel)(?<!\bTel)"
    r"(?<!\bnum)[.!?;](?:\s|$)")
# Where a date of birth is named, the date may follow a sentence later ("What's my date of
# birth on your system? It should be 18 April 1970.").
BIRTH_WINDOW = 90


def nearest_cue(text: str, start: int, window: int = CUE_WINDOW,
                same_sentence: bool = True) -> str | None:
    """The kind of the cue word closest before `start`, in the same sentence; None if none."""
    begin = max(0, start - window)
    before = text[begin:start]
    ends = [m.end() for m in _SENTENCE_END.finditer(before)]
    if ends and same_sentence:
        before = before[ends[-1]:]
    best: tuple[int, str] | None = None
    for kind, pattern in _CUES:
        for match in pattern.finditer(before):
            if best is None or match.end() > best[0]:
                best = (match.end(), kind)
    return best[1] if best else None


def _cue_after(text: str, end: int, kind: str, window: int = 30) -> bool:
    after = text[end:end + window]
    stop = _SENTENCE_END.search(after)
    if stop:
        after = after[:stop.start()]
    pattern = dict(_CUES)[kind]
    return pattern.search(after) is not None


# --- checksums --------------------------------------------------------------------------------

def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def nhs_valid(digits: str) -> bool:
    if len(digits) != 10:
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# --- the detectors ------------------------------------------------------------------------------

EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

_NI_FIRST = "A-CEGHJ-PR-TW-Z"
_NI_SECOND = "A-CEGHJ-NPR-TW-Z"
NI_NUMBER = re.compile(
    rf"(?<![\w-])(?P<prefix>[{_NI_FIRST}][{_NI_SECOND}]|QQ) ?"
    r"\d{2} ?\d{2} ?\d{2}(?: ?[A-Z])?(?![\w-])", re.I)
# Lower-case words a sentence may put before six digits ("at 12 34 56", "my 123456").
_NI_WORDS = frozenset({"am", "an", "as", "at", "be", "by", "he", "me", "my", "we", "ok", "pa",
                       "ta", "re", "ex", "la", "ma", "hr", "ha", "eh", "ah", "oh", "ye", "yr"})

CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_CARD_GROUPS = re.compile(r"^\d{4}([ -])(?:\d{4}\1)*\d{1,4}$|^\d{4}([ -])\d{6}\2\d{4,5}$")

PHONE = re.compile(
    r"(?<![\w+-])(?:\+44[\s-]?(?:\(0\)[\s-]?)?|\(?0)(?:\d[\s)-]{0,2}){8,9}\d(?![\w-])")

SORT_CODE_PAIRS = re.compile(r"(?<![\w-])\d{2}(?P<sep>[- ])\d{2}(?P=sep)\d{2}(?![\w-])")
SORT_CODE_CUED = re.compile(r"(?<![\w-])(?:\d{6}|\d{3} \d{3})(?![\w-])")
BANK_PAIR = re.compile(
    r"(?<![\w-])(?P<sort>\d{2}[- ]?\d{2}[- ]?\d{2})\s*(?:[,/&]\s*)?(?P<account>\d{7,10})(?![\w-])")
ACCOUNT_AFTER_SORT = re.compile(r"^\s*(?:[,/&]|and)?\s*(?P<account>\d{7,10})(?![\w-])")

POSTCODE = re.compile(
    r"(?<![\w-])(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?|GIR) ?\d[ABD-HJLNP-UW-Z]{2}(?![\w-])", re.I)

EMPLOYEE_NUMBER = re.compile(r"(?<![\w-])E\d{4,8}(?![\w-])", re.I)
NUMBER = re.compile(r"(?<![\w-])\d(?:[ ]?\d){4,}(?![\w-])")
DRIVING_LICENCE = re.compile(r"(?<![\w-])[A-Z9]{5}\d{6}[A-Z9]{2}\d[A-Z]{2}(?![\w-])", re.I)
CODE = re.compile(r"(?<![\w-])[A-Z]{1,3}\d{5,10}[A-Z]?(?![\w-])", re.I)

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
DATE = re.compile(
    r"(?<![\w/.-])(?:"
    r"\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})"
    r"|\d{4}-\d{2}-\d{2}"
    rf"|{_DAY}(?:\s+of)?\s+{_MONTH}\.?,?\s+\d{{4}}"
    rf"|{_MONTH}\.?\s+{_DAY},?\s+\d{{4}}"
    r")(?![\w/-])", re.I)

# Street words that are never anything else, in any case ("12 high street"), and those that are
# ordinary words too ("38 miles each way"), only capitalised after capitalised words.
_STREET_WORDS = (r"(?i:street|road|lane|avenue|close|crescent|terrace|gardens|cottages|mews|"
                 r"parade|kingsway|broadway)\b|(?i:st|rd|ave)\b\.?")
_WEAK_STREET_WORDS = (r"(?:Way|Drive|Court|Grove|Place|Green|Row|Hill|Park|View|Square|Walk|"
                      r"Rise|Gate|Wharf|Yard|Quay|Vale|Fields|Meadows|Pleasant|Orchard)\b")
_FLAT_WORD = r"(?i:Flat|Apartment|Apt|Unit|Suite)"
_FLAT = rf"(?:{_FLAT_WORD}\s+\d+[A-Za-z]?,?\s+)"
STREET_ADDRESS = re.compile(
    rf"(?<![\w-]){_FLAT}?\d{{1,4}}[A-Za-z]?,?\s+(?:"
    rf"(?:[Tt]he\s+)?(?:[A-Za-z][a-z'-]+\s+){{0,3}}(?:{_STREET_WORDS})"
    rf"|(?:The\s+)?(?:[A-Z][a-z'-]+\s+){{0,3}}{_WEAK_STREET_WORDS})(?![\w-])")
FLAT = re.compile(rf"(?<![\w-]){_FLAT_WORD}\s+\d+[A-Za-z]?(?![\w-])")
BUILDING = re.compile(
    r"(?<![\w-])(?:[A-Z][a-z]+\s+){1,2}(?:House|Building|Tower|Court|Centre|Cottage|Lodge|Hall)"
    r"(?![\w-])")


def _emails(text: str) -> Iterator[Finding]:
    for match in EMAIL.finditer(text):
        yield Finding(match.start(), match.end(), "email", 100)


def _ni_numbers(text: str) -> Iterator[Finding]:
    for match in NI_NUMBER.finditer(text):
        prefix = match.group("prefix")
        if prefix.islower() and prefix in _NI_WORDS:
            continue
        yield Finding(match.start(), match.end(), "ni_number", 90)


def _cards(text: str) -> Iterator[Finding]:
    for match in CARD.finditer(text):
        raw = match.group()
        digits = _digits(raw)
        if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
            continue
        if raw != digits and not _CARD_GROUPS.match(raw):
            continue
        yield Finding(match.start(), match.end(), "card_number", 95)


def _phones(text: str) -> Iterator[Finding]:
    for match in PHONE.finditer(text):
        raw = match.group()
        groups = re.findall(r"\d+", raw)
        digits = "".join(groups)
        cue = nearest_cue(text, match.start())
        if cue in {"nhs", "utr", "passport", "account_number", "employee_number", "sort_code"}:
            continue  # "NHS number 0988754347" is not a phone number
        if [len(g) for g in groups] == [3, 3, 4] and nhs_valid(digits):
            continue  # an NHS number's own grouping
        yield Finding(match.start(), match.end(), "phone", 75)


def _bank_details(text: str) -> Iterator[Finding]:
    # A sort code and then an account number is the surest sign of both: above phone numbers.
    for match in BANK_PAIR.finditer(text):
        yield Finding(match.start("sort"), match.end("sort"), "sort_code", 80)
        yield Finding(match.start("account"), match.end("account"), "account_number", 80)
    for match in SORT_CODE_PAIRS.finditer(text):
        yield Finding(match.start(), match.end(), "sort_code", 65)
        following = ACCOUNT_AFTER_SORT.match(text, match.end())
        if following:
            yield Finding(following.start("account"), following.end("account"),
                          "account_number", 65)
    for match in SORT_CODE_CUED.finditer(text):
        if nearest_cue(text, match.start()) == "sort_code":
            yield Finding(match.start(), match.end(), "sort_code", 64)


def _postcodes(text: str) -> Iterator[Finding]:
    for match in POSTCODE.finditer(text):
        yield Finding(match.start(), match.end(), "postcode", 60)


def _employee_numbers(text: str) -> Iterator[Finding]:
    for match in EMPLOYEE_NUMBER.finditer(text):
        yield Finding(match.start(), match.end(), "employee_number", 60)


def _cued_numbers(text: str) -> Iterator[Finding]:
    """Bare digit runs, classified by the nearest cue; anything of 7+ digits is hidden anyway."""
    for match in NUMBER.finditer(text):
        digits = _digits(match.group())
        cue = nearest_cue(text, match.start())
        kind = None
        if cue == "account_number" and 7 <= len(digits) <= 10:
            kind = "account_number"
        elif cue == "employee_number" and 5 <= len(digits) <= 10:
            kind = "employee_number"
        elif cue == "nhs" and len(digits) == 10:
            kind = "reference_number"
        elif cue == "utr" and len(digits) == 10:
            kind = "reference_number"
        elif cue == "passport" and len(digits) == 9:
            kind = "reference_number"
        elif cue == "member" and len(digits) >= 6:
            kind = "reference_number"
        elif len(digits) == 10 and nhs_valid(digits) and re.fullmatch(r"\d{3} \d{3} \d{4}",
                                                                       match.group()):
            kind = "reference_number"
        if kind is not None:
            yield Finding(match.start(), match.end(), kind, 50)
        elif len(digits) >= 7:
            yield Finding(match.start(), match.end(), "number", 10)


def _references(text: str) -> Iterator[Finding]:
    for match in DRIVING_LICENCE.finditer(text):
        yield Finding(match.start(), match.end(), "reference_number", 90)
    for match in CODE.finditer(text):
        if nearest_cue(text, match.start()) in {"member", "passport", "utr", "nhs"}:
            yield Finding(match.start(), match.end(), "reference_number", 55)


def _dates_of_birth(text: str) -> Iterator[Finding]:
    previous_end = 0
    for match in DATE.finditer(text):
        # The nearest cue since the previous date, even a sentence back.
        reach = min(BIRTH_WINDOW, match.start() - previous_end)
        previous_end = match.end()
        if (nearest_cue(text, match.start(), reach, same_sentence=False) == "birth"
                or _cue_after(text, match.end(), "birth")):
            yield Finding(match.start(), match.end(), "date_of_birth", 85)


def _addresses(text: str) -> Iterator[Finding]:
    for match in STREET_ADDRESS.finditer(text):
        yield Finding(match.start(), match.end(), "place", 45)
    for match in FLAT.finditer(text):
        yield Finding(match.start(), match.end(), "place", 44)
    for match in BUILDING.finditer(text):
        yield Finding(match.start(), match.end(), "place", 44)


DETECTORS = (_emails, _ni_numbers, _cards, _phones, _bank_details, _postcodes,
             _employee_numbers, _cued_numbers, _references, _dates_of_birth, _addresses)


def find(text: str) -> list[Finding]:
    """Every pattern finding in `text` (overlapping ones included; the redactor chooses)."""
    return [finding for detector in DETECTORS for finding in detector(text)]
