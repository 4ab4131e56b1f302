"""Two-stage fallback, first stage: offer the best one or two guesses as buttons.

Below the FallbackClassifier threshold the message is `nlu_fallback` and this action answers
"Did you mean: …?" with the model's best one or two guesses (buttons that send the intent), plus
"Something else". Another failure (or "Something else") gets `utter_default` (rephrase), and a
failure after that is the handoff path (`action_handoff_offer`, data/rules/handoff.yml). Rules:
data/rules/fallback.yml. It reads only the NLU ranking of the latest message: no personal data.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

# What a button says for each intent worth suggesting. Intents missing here (conversation
# intents, form answers, out_of_scope, nlu_fallback) are never offered.
LABELS: Dict[str, str] = {
    "leave_balance": "Check my leave balance",
    "leave_request": "Book leave",
    "leave_request_status": "Check a leave request",
    "leave_cancel": "Cancel booked leave",
    "leave_approvals": "Leave waiting for my approval",
    "sickness_report": "Report sickness absence",
    "public_holidays": "Bank holidays",
    "payslip": "See a payslip",
    "pay_date": "When is payday",
    "salary_info": "My salary and pay band",
    "tax_question": "A tax code or tax question",
    "annual_tax_statement": "Get my P60 / P11D",
    "pension_question": "A pension question",
    "salary_bank_account": "Change the bank account for my pay",
    "personal_details_update": "Update my personal details",
    "benefits_info": "Staff benefits",
    "account_locked": "Locked out of the HR or finance system",
    "expense_claim_status": "Where is my expense claim",
    "expense_claim_submit": "Claim expenses",
    "purchase_order_status": "Purchase order status",
    "invoice_status": "Supplier invoice status",
    "ticket_create": "Raise a query",
    "ticket_status": "Progress of a query",
    "ticket_list": "My open queries",
    "ticket_update": "Add a note to a query",
    "ticket_close": "Close a query",
    "ticket_reopen": "Reopen a query",
    "help": "What can you do?",
    "human_handoff": "Talk to a person",
}
MAX_GUESSES = 2
MIN_CONFIDENCE = 0.05  # below this a guess is noise, not worth a button
SOMETHING_ELSE = {"title": "Something else", "payload": "/deny"}


def best_guesses(latest_message: Dict[str, Any]) -> List[str]:
    """The one or two most likely intents worth offering, best first."""
    guesses: List[str] = []
    for entry in latest_message.get("intent_ranking") or []:
        name = str(entry.get("name") or "").split("/", 1)[0]
        if name in LABELS and name not in guesses and float(entry.get("confidence") or 0) >= MIN_CONFIDENCE:
            guesses.append(name)
        if len(guesses) == MAX_GUESSES:
            break
    return guesses


class ActionFallbackSuggest(Action):
    def name(self) -> Text:
        return "action_fallback_suggest"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        guesses = best_guesses(tracker.latest_message or {})
        if not guesses:
            dispatcher.utter_message(response="utter_fallback_rephrase")
            return []
        buttons = [{"title": LABELS[g], "payload": f"/{g}"} for g in guesses] + [SOMETHING_ELSE]
        dispatcher.utter_message(response="utter_fallback_did_you_mean", buttons=buttons)
        return []
