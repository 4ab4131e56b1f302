"""What the assistant says about itself is true (issue 20): the greeting, the help and the
fallback's rephrase prompts describe what it does today, on every channel.

Each claim of the help text is tied to the intent that delivers it, and that intent must be in
the domain with a rule or story that answers it; every intent the fallback may suggest as a
button is claimed by the help text; the greeting and help have a variant for each channel that
says how that channel knows who the employee is; every button leads to a handled intent.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from actions.fallback import LABELS

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = (None, "msteams", "slack")  # None: the widget (the variant without a channel)

# A phrase of the help text -> the intent that makes it true.
CLAIMS = {
    "your balance": "leave_balance",
    "booking or cancelling leave": "leave_request",
    "cancelling leave": "leave_cancel",
    "whether a request is approved": "leave_request_status",
    "reporting sickness": "sickness_report",
    "bank holidays": "public_holidays",
    "leave waiting for approval": "leave_approvals",
    "payslips": "payslip",
    "payday": "pay_date",
    "salary and pay band": "salary_info",
    "tax code": "tax_question",
    "P60 and P11D": "annual_tax_statement",
    "pension": "pension_question",
    "staff benefits": "benefits_info",
    "locked out of the HR or finance system": "account_locked",
    "address, phone number, emergency contact": "personal_details_update",
    "bank details: I'll show you the secure route": "salary_bank_account",
    "claiming expenses": "expense_claim_submit",
    "tracking claims": "expense_claim_status",
    "purchase orders": "purchase_order_status",
    "supplier invoices": "invoice_status",
    "policy questions": "policy_question",
    "raise one": "ticket_create",
    "check its progress": "ticket_status",
    "add a note": "ticket_update",
    "close or reopen it": "ticket_close",
    "reopen": "ticket_reopen",
    "A person from the helpdesk team": "human_handoff",
}
# Suggestable intents that are not a capability of their own (help itself; the list of open
# queries is part of following them up).
NOT_CLAIMED = {"help", "ticket_list"}
# The greeting's short list: a word for each area.
GREETING_AREAS = ("leave", "pay", "personal details", "expenses", "purchase orders", "invoices",
                  "policies", "helpdesk queries", "a person")
IDENTITY = {None: "signed in through the intranet", "msteams": "Teams tells me who you are",
            "slack": "Slack tells me who you are"}
# Where each channel shows the employee's queries (issue 24): the chat page's "My queries" link;
# in Teams and Slack each notice carries the query's address.
QUERIES = {None: "My queries page", "msteams": "each with a link to the query",
           "slack": "each with a link to the query"}


def domain() -> dict:
    merged: dict = {"intents": [], "responses": {}}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        merged["intents"] += [i if isinstance(i, str) else next(iter(i)) for i in
                              document.get("intents") or []]
        merged["responses"].update(document.get("responses") or {})
    return merged


def handled_intents() -> set[str]:
    """Intents that start a rule or story step in the training data."""
    found = set()
    for path in list((ROOT / "data" / "rules").glob("*.yml")) + list((ROOT / "data" / "stories").glob("*.yml")):
        found |= set(re.findall(r"^\s*-?\s*intent:\s*([a-z_]+)", path.read_text(encoding="utf-8"), re.M))
    return found


def variants(name: str) -> dict:
    return {v.get("channel"): v for v in domain()["responses"][name]}


@pytest.mark.parametrize("name", ["utter_greet", "utter_help"])
def test_each_channel_has_its_own_variant(name: str) -> None:
    assert set(variants(name)) == set(CHANNELS)


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_help_claims_only_what_a_handled_intent_does(channel: str | None) -> None:
    text = variants("utter_help")[channel]["text"]
    intents, handled = set(domain()["intents"]), handled_intents()
    for phrase, intent in CLAIMS.items():
        assert phrase in text, (channel, phrase)
        assert intent in intents and intent in handled, (phrase, intent)


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_help_says_where_the_channel_shows_your_queries(channel: str | None) -> None:
    assert QUERIES[channel] in variants("utter_help")[channel]["text"]


def test_the_widget_has_the_my_queries_link_the_help_points_to() -> None:
    assert '<a href="/queries">My queries</a>' in (ROOT / "bot" / "web" / "templates" / "chat.html").read_text()


def test_every_suggestable_intent_is_in_the_help() -> None:
    claimed = set(CLAIMS.values())
    assert set(LABELS) - claimed - NOT_CLAIMED == set()


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_greeting_names_every_area_and_how_the_channel_knows_who_you_are(channel) -> None:
    text = variants("utter_greet")[channel]["text"]
    for area in GREETING_AREAS:
        assert area in text, (channel, area)
    assert IDENTITY[channel] in text
    for other, words in IDENTITY.items():
        if other != channel:
            assert words not in text


@pytest.mark.parametrize("name", ["utter_help", "utter_greet", "utter_default", "utter_fallback_rephrase"])
def test_every_button_leads_to_a_handled_intent(name: str) -> None:
    handled = handled_intents()
    for variant in domain()["responses"][name]:
        for button in variant.get("buttons") or []:
            assert button["payload"].lstrip("/") in handled, (name, button)


@pytest.mark.parametrize("name", ["utter_default", "utter_fallback_rephrase"])
def test_the_rephrase_prompts_name_the_areas_and_point_to_help_and_a_person(name: str) -> None:
    for variant in domain()["responses"][name]:
        text = variant["text"]
        for area in ("leave", "pay", "expenses", "purchase orders", "invoices", "policies",
                     "helpdesk queries"):
            assert area in text, (name, area)
        assert '"help"' in text and "person" in text
