"""What a simulated employee says, and what must come back, turn by turn."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    text: str
    expect_prefix: str  # the first bot message must start with this

    def answered(self, replies: list[str]) -> bool:
        return bool(replies) and replies[0].startswith(self.expect_prefix)


# A realistic mix: small talk, a question answered from the caller's records, help, rejection.
# Form turns and ticket creation join when those features land (issues 3 and 5).
CONVERSATION = (
    Turn("hello", "Hello!"),
    Turn("how much leave do I have left?", "You have "),
    Turn("what can you do?", "I can "),
    Turn("what's the weather like in Leeds?", "Sorry, that isn't"),
    Turn("how many days holiday have I got left", "You have "),
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
