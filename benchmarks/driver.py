"""Simulated employees talking to the web app, and a bare NLU load on Rasa's /model/parse."""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import aiohttp

from .scenario import CONVERSATION, Turn


@dataclass
class LevelResult:
    """Latencies (ms) and errors of one concurrency level."""

    concurrency: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    wrong_answers: int = 0
    sent: dict[str, list[str]] = field(default_factory=dict)  # subject -> texts, in order
    by_turn: dict[str, list[float]] = field(default_factory=dict)  # turn text -> latencies (ms)
    wrong_by_turn: dict[str, int] = field(default_factory=dict)  # turn text -> wrong answers
    wrong_examples: list[dict[str, object]] = field(default_factory=list)  # the first few

    @property
    def messages(self) -> int:
        return len(self.latencies_ms)


def merged(first: LevelResult, second: LevelResult) -> LevelResult:
    """One level's result from two runs of it (different employees): every latency, error and
    conversation of both, their times added."""
    if first.concurrency != second.concurrency or first.sent.keys() & second.sent.keys():
        raise ValueError("only two runs of one level, by different employees, can be merged")
    by_turn = {text: list(latencies) for text, latencies in first.by_turn.items()}
    for text, latencies in second.by_turn.items():
        by_turn.setdefault(text, []).extend(latencies)
    return LevelResult(concurrency=first.concurrency, seconds=first.seconds + second.seconds,
                       latencies_ms=first.latencies_ms + second.latencies_ms,
                       errors=first.errors + second.errors,
                       wrong_answers=first.wrong_answers + second.wrong_answers,
                       wrong_by_turn={text: first.wrong_by_turn.get(text, 0)
                                      + second.wrong_by_turn.get(text, 0)
                                      for text in {**first.wrong_by_turn, **second.wrong_by_turn}},
                       wrong_examples=(first.wrong_examples + second.wrong_examples)[:3],
                       sent={**first.sent, **second.sent}, by_turn=by_turn)


# A level that has not sent `min_messages` by its time goes on, up to this many times its time.
STRETCH = 10


@dataclass
class Bounds:
    """When a level stops sending: once `seconds` have passed and at least `min_messages` were
    sent, and in any case after `max_messages` or `seconds * STRETCH`.

    The minimum matters at concurrency 1, where 20 s with 1 s pauses is ~20 messages: two
    conversations, and a p50 that falls between two kinds of message.
    """

    seconds: float
    max_messages: int
    min_messages: int = 0
    began: float = field(default_factory=lambda: time.monotonic())
    sent: int = 0

    def open(self) -> bool:
        elapsed = time.monotonic() - self.began
        if self.sent >= self.max_messages or elapsed >= self.seconds * STRETCH:
            return False
        return elapsed < self.seconds or self.sent < self.min_messages

    def take(self) -> bool:
        """True, counting it, when one more message may be sent."""
        if not self.open():
            return False
        self.sent += 1
        return True


async def _sign_in(http: aiohttp.ClientSession, web: str, subject: str) -> None:
    async with http.post(f"{web}/signin", data={"subject": subject},
                         headers={"Origin": web}, allow_redirects=False) as response:
        if response.status != 303:
            raise RuntimeError(f"sign-in failed for {subject}: {response.status}")


async def _send(http: aiohttp.ClientSession, web: str, turn: Turn,
                result: LevelResult) -> None:
    """One message: its latency when answered, or an error; a wrong answer is counted too."""
    started = time.perf_counter()
    try:
        async with http.post(f"{web}/api/messages", json={"text": turn.text},
                             headers={"Origin": web}) as response:
            body = await response.json()
            ok = response.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        ok, body = False, {}
    elapsed = (time.perf_counter() - started) * 1000
    if not ok:
        result.errors += 1
        return
    result.latencies_ms.append(elapsed)
    result.by_turn.setdefault(turn.text, []).append(elapsed)
    replies = [m.get("text", "") for m in body.get("messages", [])]
    if not turn.answered(replies):
        result.wrong_answers += 1
        result.wrong_by_turn[turn.text] = result.wrong_by_turn.get(turn.text, 0) + 1
        if len(result.wrong_examples) < 3:
            result.wrong_examples.append({"turn": turn.text, "replies": replies[:3]})


def _pause(think_seconds: float, pace: random.Random) -> float:
    """An employee's pause: uniform around `think_seconds` (mean kept), so that employees who
    started together drift apart instead of sending in lockstep bursts."""
    return think_seconds * pace.uniform(0.5, 1.5)


async def _conversation(web: str, subject: str, bounds: Bounds, think_seconds: float,
                        pace: random.Random, result: LevelResult) -> None:
    """One employee signs in and goes through CONVERSATION once (or until the level ends),
    pausing about `think_seconds` after each answer to read it and type the next message."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        await _sign_in(http, web, subject)
        sent = result.sent.setdefault(subject, [])
        for number, turn in enumerate(CONVERSATION):
            if number and think_seconds:
                # the simulated employee's pace, not a synchronisation
                await asyncio.sleep(_pause(think_seconds, pace))
            if not bounds.take():
                return
            sent.append(turn.text)
            await _send(http, web, turn, result)


async def _employees(web: str, subjects: Iterator[str], bounds: Bounds, think_seconds: float,
                     pace: random.Random, result: LevelResult) -> None:
    """One concurrent slot: conversation after conversation, each by a new employee. With a
    think time, the slot's first employee arrives at a random moment of the first pause."""
    if think_seconds:
        await asyncio.sleep(pace.uniform(0, think_seconds))  # arrivals, not a synchronisation
    while bounds.open():
        subject = next(subjects, None)
        if subject is None:
            raise RuntimeError("not enough benchmark identities were provisioned")
        await _conversation(web, subject, bounds, think_seconds, pace, result)


def identities_needed(concurrency: int, max_messages: int) -> int:
    """Enough identities for every conversation a level can start."""
    return concurrency + max_messages // len(CONVERSATION) + 1


async def run_conversations(web: str, subjects: list[str], concurrency: int, seconds: float,
                            max_messages: int, think_seconds: float = 0.0,
                            min_messages: int = 0) -> LevelResult:
    """`concurrency` conversations at a time, each a new employee, bounded in time and count.

    `think_seconds` = 0 is a closed loop at full speed: each employee sends the next message
    the moment the answer arrives, so the level measures capacity, and latency is at least
    concurrency / throughput (Little's law).
    """
    result = LevelResult(concurrency=concurrency)
    pool = iter(subjects)
    pace = random.Random(concurrency)  # the same pauses in every run of a level
    bounds = Bounds(seconds, max_messages, min_messages)
    await asyncio.gather(*(_employees(web, pool, bounds, think_seconds, pace, result)
                           for _ in range(concurrency)))
    result.seconds = time.monotonic() - bounds.began
    return result


async def run_parse(rasa: str, token: str, concurrency: int, seconds: float,
                    max_messages: int, think_seconds: float = 0.0,
                    min_messages: int = 0) -> LevelResult:
    """The bare NLU cost: /model/parse at the same concurrency, no dialogue, no actions.

    With `think_seconds`, each of the `concurrency` callers pauses as a simulated employee does
    (the same pauses, from the same seeded generator): the parse then runs under the same
    pacing as the conversations it is compared with. A server that idles between requests
    answers more slowly than one kept busy (here: ~15 ms at full speed, ~19-24 ms with pauses,
    the same requests), so a closed-loop parse against paced conversations would count that
    difference as dialogue cost. Without it: a closed loop, the NLU's capacity.
    """
    result = LevelResult(concurrency=concurrency)
    bounds = Bounds(seconds, max_messages, min_messages)
    pace = random.Random(concurrency)

    async def worker(http: aiohttp.ClientSession, offset: int) -> None:
        index = offset
        if think_seconds:
            await asyncio.sleep(pace.uniform(0, think_seconds))  # arrivals, as in _employees
        while bounds.open():
            if think_seconds and index > offset:
                await asyncio.sleep(_pause(think_seconds, pace))  # a caller's pace
            if not bounds.take():
                break
            text = CONVERSATION[index % len(CONVERSATION)].text
            index += 1
            started = time.perf_counter()
            async with http.post(f"{rasa}/model/parse", params={"token": token},
                                 json={"text": text}) as response:
                await response.read()
                if response.status != 200:
                    result.errors += 1
                    continue
            elapsed = (time.perf_counter() - started) * 1000
            result.latencies_ms.append(elapsed)
            result.by_turn.setdefault(text, []).append(elapsed)

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(worker(http, i) for i in range(concurrency)))
    result.seconds = time.monotonic() - bounds.began
    return result


async def parse_intents(rasa: str, token: str, texts: list[str]) -> list[str]:
    async with aiohttp.ClientSession() as http:
        names = []
        for text in texts:
            async with http.post(f"{rasa}/model/parse", params={"token": token},
                                 json={"text": text}) as response:
                names.append((await response.json())["intent"]["name"])
        return names


async def user_texts_in_tracker(rasa: str, token: str, conversation_id: str) -> list[str]:
    """What Rasa stored, in order: the server-side check for lost or reordered messages."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{rasa}/conversations/{conversation_id}/tracker",
                            params={"token": token}) as response:
            tracker = await response.json()
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]
