"""Words that mean the same thing in an employee's question: a search engine's synonym filter.

A question's word also looks for the other words of its group ("my husband died" looks for
"partner", "spouse", "death", "bereavement"...), so an article need not use the asker's word.
Groups are general English and HR usage, never one article's wording (that is what an
article's `keywords` are for, and HR edits those). Chosen on tests/knowledge/tuning.yml.

Each group is a set of equivalent words or phrases; phrases match as whole words in order.
"""
from __future__ import annotations

GROUPS: tuple[tuple[str, ...], ...] = (
    # people
    ("husband", "wife", "spouse", "partner", "civil partner", "boyfriend", "girlfriend"),
    ("son", "daughter", "child", "children", "kid", "kids", "baby", "toddler"),
    ("mum", "mother", "dad", "father", "parent", "parents", "mom"),
    ("brother", "sister", "sibling", "relative", "family member", "cousin", "uncle", "aunt"),
    ("grandparent", "grandmother", "grandfather", "gran", "grandma", "grandad", "relative"),
    ("boss", "manager", "line manager", "supervisor"),
    ("colleague", "coworker", "co-worker", "workmate", "team member"),
    # life events
    ("died", "dies", "die", "death", "passed away", "bereavement", "bereaved", "lost"),
    ("stillborn", "stillbirth"),
    ("pregnant", "pregnancy", "expecting", "maternity"),
    ("ill", "unwell", "poorly", "sick", "sickness", "illness"),
    ("cancer", "serious illness", "long-term illness", "chronic", "condition", "operation",
     "surgery", "hospital", "long-term sickness", "long term sick"),
    ("stress", "stressed", "anxiety", "anxious", "depressed", "depression", "mental health",
     "struggling", "burnout", "burnt out"),
    ("counselling", "counseling", "counsellor", "therapy", "therapist", "employee assistance"),
    ("married", "marriage", "wedding", "divorce", "divorced"),
    ("emergency", "suddenly", "sudden", "unexpected", "unexpectedly", "urgent"),
    # work and pay
    ("job", "role", "post", "position"),
    ("sacked", "fired", "dismissed", "dismissal", "let go"),
    ("quit", "resign", "resigning", "resignation", "hand in my notice"),
    ("pay", "salary", "wages", "paid", "earnings"),
    ("pay rise", "pay increase", "raise", "pay award", "salary increase"),
    ("money back", "refund", "reimburse", "reimbursed", "reimbursement", "claim"),
    ("firm", "company", "business", "supplier", "contractor", "vendor"),
    ("bid", "bidding", "tender", "contract", "procurement"),
    ("present", "gift", "hamper", "freebie", "tickets"),
    ("complain", "complaint", "grievance"),
    ("holiday", "holidays", "vacation", "annual leave", "time off", "days off", "leave"),
    ("office", "workplace", "building", "site"),
    ("home", "house"),
    ("abroad", "overseas", "another country", "outside the uk", "spain", "france", "europe"),
    ("software", "technology", "assistive technology", "equipment", "computer"),
    ("screen reader", "screen reading", "assistive technology", "dyslexia software"),
    ("lunch", "breakfast", "dinner", "meal", "meals", "food", "subsistence"),
    ("train", "rail", "railway"),
    ("car", "vehicle", "driving", "drive"),
    ("bike", "bicycle", "cycle", "cycling", "e-bike"),
    ("part time", "part-time", "part timer", "fewer hours", "reduced hours", "pro rata"),
    ("full time", "full-time"),
    ("union", "trade union"),
    ("whistle", "whistleblowing", "whistleblower"),
    ("warning", "trigger", "triggers", "attendance"),
    ("training", "course", "courses", "learning", "study", "degree", "qualification"),
    ("secondment", "loan", "loaned"),
    ("starter", "joined", "joining", "new starter", "first year"),
    # numbers people write as words
    ("one", "1"), ("two", "2"), ("three", "3"), ("four", "4"), ("five", "5"), ("six", "6"),
    ("seven", "7"), ("eight", "8"), ("nine", "9"), ("ten", "10"),
    # nations
    ("scotland", "scottish"), ("wales", "welsh"), ("northern ireland", "ni"),
    ("england", "english"),
)
