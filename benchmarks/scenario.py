"""What a simulated employee says, and what must come back, turn by turn."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    text: str
    expect_prefix: str  # the first bot message must start with this
    # ... and one of the replies must hold this: a policy answer's excerpt depends on the
    # articles, and its "Source: ..." paragraph comes as a message of its own
    expect_in: str = ""
    kind: str = ""  # "records" or "policy": the answers issue 19 compares (p95 by kind)

    def answered(self, replies: list[str]) -> bool:
        return (bool(replies) and replies[0].startswith(self.expect_prefix)
                and any(self.expect_in in reply for reply in replies))


# One employee's conversation, start to end: small talk, a question answered from the caller's
# records, a form (the ticket form: description, suggested priority, confirmation) that creates a
# ticket, help, an out-of-scope question, a policy question answered from the knowledge base
# (issue 19: its p95 against the records answers'), a second records question, thanks. Every turn's answer
# is independent of the date (a leave booking's is not: "next Friday" may be a bank holiday).
# Each simulated employee has this conversation, then a new employee starts a new one: the
# conversation never grows past these turns, as a real one ends (the baseline of
# docs/performance.md instead looped one employee's conversation for the whole level).
CONVERSATION = (
    Turn("hello", "Hello!"),
    Turn("how much leave do I have left?", "You have ", kind="records"),
    Turn("I need to raise a query about my payslip", "Please describe your query"),
    Turn("my overtime from October is missing from my payslip", "I'd suggest high priority"),
    Turn("yes", "I'll raise a high priority query"),
    Turn("yes, go ahead", "Done. Your query is logged as PAY-"),
    Turn("what can you do?", "Here's what I can do"),
    Turn("what's the weather like in Leeds?", "Sorry, that isn't"),
    Turn("how long is paternity leave?", "", "Source: Paternity leave and pay", kind="policy"),
    Turn("how many days holiday have I got left", "You have ", kind="records"),
    Turn("thanks", "You're welcome"),
)

# Labelled phrasings for comparing NLU accuracy between configurations (not training data).
LABELLED = (
    ("good morning", "greet"),
    ("how many days of annual leave do I still have?", "leave_balance"),
    ("brilliant, cheers", "thank"),
    ("that's it from me, bye", "goodbye"),
    ("what sort of things can you help with?", "help"),
    ("am I talking to a real human?", "bot_challenge"),
    ("what's the weather going to be like in Leeds?", "out_of_scope"),
    ("who won the rugby at the weekend", "out_of_scope"),
    ("yes please", "affirm"),
    ("no thanks", "deny"),
)
