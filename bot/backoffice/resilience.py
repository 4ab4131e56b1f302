"""How a vendor adapter behaves when its system of record is slow, throttling or down.

- **A budget per answer.** `answering(seconds)` (the action server opens one per chat turn)
  sets a deadline; every HTTP attempt's timeout is the smaller of the attempt timeout and
  what is left, so an answer never waits longer than the budget (2.4 s by default, under
  the 3 s the employee is promised) however many calls it needs.
- **Bounded retries with backoff for reads** (tenacity): at most three attempts, exponential
  backoff with jitter, a server's `Retry-After` honoured when it fits in the budget; never
  past the deadline. Writes are sent once (see writes.py for how they are made safe).
- **A circuit breaker per system** (`Breaker`): after five failed attempts in a row calls
  fail at once for 30 s, then one trial call decides whether it closes again. The call runs
  outside the breaker's lock, so turns asking one system at the same time do not queue
  behind each other's attempts (pybreaker, used before, holds its lock through the call:
  a slow system made concurrent turns wait past their budget).
- **The last good answer.** Every successful read is kept (per operation and arguments, in
  process memory, bounded); when the system cannot answer, that copy is returned and its
  time noted in the turn's `AnswerNotes`, so the action can say "the HR system is not
  answering; here is what it said at 09:14". Without a copy, `SystemUnavailable` is raised
  and the employee is offered a ticket.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import Retrying, retry_if_exception_type

from .errors import OutcomeUnknown, StaleAnswer, SystemUnavailable

T = TypeVar("T")

DEFAULT_BUDGET = 2.4
MIN_ATTEMPT = 0.05  # an attempt with less time than this left is not started
MAX_ATTEMPTS = 3
BREAKER_FAILURES = 5
BREAKER_RESET_SECONDS = 30
CACHE_ENTRIES = 5000


class Transient(Exception):
    """One attempt failed in a way a later attempt may not (timeout, 429, 5xx, refused)."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


@dataclass
class AnswerNotes:
    """What one chat turn's reads went through: its deadline, and any stale answers."""

    deadline: float
    stale: list[StaleAnswer] = field(default_factory=list)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def oldest_stale(self) -> StaleAnswer | None:
        return min(self.stale, key=lambda s: s.at) if self.stale else None


_notes: contextvars.ContextVar[AnswerNotes | None] = contextvars.ContextVar(
    "backoffice_answer_notes", default=None
)


@contextmanager
def answering(budget_seconds: float = DEFAULT_BUDGET) -> Iterator[AnswerNotes]:
    """Reads made in this context (and in threads started with its copy) share a deadline."""
    notes = AnswerNotes(time.monotonic() + budget_seconds)
    token = _notes.set(notes)
    try:
        yield notes
    finally:
        _notes.reset(token)


def current_notes() -> AnswerNotes | None:
    return _notes.get()


def remaining(default: float = DEFAULT_BUDGET) -> float:
    notes = _notes.get()
    return notes.remaining() if notes is not None else default


def attempt_timeout(limit: float) -> float:
    """This attempt's timeout: the attempt limit, cut to what is left of the budget."""
    left = remaining(default=limit * MAX_ATTEMPTS)
    if left < MIN_ATTEMPT:
        raise Transient("answer budget spent")
    return min(limit, left)


@dataclass
class _Copy:
    value: Any
    at: dt.datetime


class LastGood:
    """The last good answer per key, bounded (least recently used goes first)."""

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        self.size = size
        self._items: OrderedDict[Any, _Copy] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = _Copy(value, dt.datetime.now(dt.timezone.utc))
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get(self, key: Any) -> _Copy | None:
        with self._lock:
            return self._items.get(key)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def forget_employee(self, employee_id: int) -> None:
        """Drop the copies about one employee (after a write, none may show the old state)."""
        with self._lock:
            for key in [k for k in self._items if len(k) > 1 and k[1][:1] == (employee_id,)]:
                del self._items[key]


def _wait(retry_state: Any) -> float:
    """Exponential backoff with jitter (0.1, 0.2 s ...), or the server's Retry-After."""
    error = retry_state.outcome.exception() if retry_state.outcome else None
    if isinstance(error, Transient) and error.retry_after is not None:
        return error.retry_after
    return 0.1 * (2 ** (retry_state.attempt_number - 1)) * (0.5 + random.random() / 2)


def _stop(retry_state: Any) -> bool:
    """Stop after MAX_ATTEMPTS, or when the next wait would not leave time to try again."""
    if retry_state.attempt_number >= MAX_ATTEMPTS:
        return True
    return _wait(retry_state) + MIN_ATTEMPT > remaining()


class CircuitOpen(Exception):
    """The breaker is open: the call was not made (or its failure has just opened it)."""


class Breaker:
    """A circuit breaker: closed, open after `fail_max` failures in a row, and after
    `reset_seconds` one trial call (half-open; other calls still fail at once while it runs)
    whose outcome closes or reopens it. Only failures of the system count (`counts`); any
    other outcome, a business refusal included, is an answer and resets the count.

    Thread-safe, and the call itself runs outside the lock: concurrent turns asking the same
    system each wait only for their own attempts (their budget bounds those), never for
    another turn's. pybreaker 1.4 holds its lock through the call (danielfm/pybreaker#55)."""

    def __init__(self, fail_max: int, reset_seconds: float,
                 counts: Callable[[BaseException], bool]) -> None:
        self.fail_max, self.reset_seconds, self.counts = fail_max, reset_seconds, counts
        self.failures = 0
        self.opened_at: float | None = None
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            if self.opened_at is None:
                return "closed"
            waited = time.monotonic() - self.opened_at >= self.reset_seconds
            return "half-open" if waited else "open"

    def call(self, call: Callable[[], T]) -> T:
        with self._lock:
            trial = False
            if self.opened_at is not None:
                if self._trial_running or time.monotonic() - self.opened_at < self.reset_seconds:
                    raise CircuitOpen("circuit open")
                self._trial_running = trial = True
        try:
            value = call()
        except BaseException as error:
            with self._lock:
                if trial:
                    self._trial_running = False
                if not self.counts(error):
                    self._closed()
                    raise
                self.failures += 1
                if trial or self.failures >= self.fail_max:
                    self.opened_at = time.monotonic()
                    raise CircuitOpen("circuit opened") from error
            raise
        with self._lock:
            self._closed()
            self._trial_running = False if trial else self._trial_running
        return value

    def _closed(self) -> None:
        self.failures = 0
        self.opened_at = None


class Guard:
    """Retries, the circuit breaker and the last good answers of one system of record."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.breaker = Breaker(
            BREAKER_FAILURES, BREAKER_RESET_SECONDS,
            # Only failures of the system count; a business refusal (a 400) is an answer.
            counts=lambda error: isinstance(error, (Transient, SystemUnavailable)),
        )
        self.last_good = LastGood()

    def _attempt(self, call: Callable[[], T]) -> T:
        try:
            return self.breaker.call(call)
        except CircuitOpen as error:
            raise SystemUnavailable(self.system, str(error)) from error

    def read(self, key: Any, call: Callable[[], T], *, cached: bool = True) -> T:
        """`call` with retries; on failure the last good answer (noted as stale) or
        SystemUnavailable. `cached=False` for reads that must be current (reconciling a
        write): they never fall back on a copy."""
        try:
            value = Retrying(
                stop=_stop, wait=_wait, retry=retry_if_exception_type(Transient), reraise=True
            )(self._attempt, call)
        except (Transient, SystemUnavailable) as error:
            copy = self.last_good.get(key) if cached else None
            if copy is None:
                if isinstance(error, SystemUnavailable):
                    raise
                raise SystemUnavailable(self.system, error.detail) from error
            notes = _notes.get()
            if notes is not None:
                notes.stale.append(StaleAnswer(self.system, copy.at))
            return copy.value  # type: ignore[no-any-return]
        if cached:
            self.last_good.put(key, value)
        return value

    def write(self, call: Callable[[], T]) -> T:
        """`call` once, through the breaker. A failure before the request was processed is
        SystemUnavailable; one after it may have been (OutcomeUnknown) is raised as is."""
        try:
            return self._attempt(call)
        except Transient as error:
            raise SystemUnavailable(self.system, error.detail) from error
        except OutcomeUnknown:
            raise


def guarded_read(method: Callable[..., T]) -> Callable[..., T]:
    """An adapter method whose result is retried, breaker-guarded and kept as last good."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any) -> T:
        return self.guard.read((method.__name__, args), lambda: method(self, *args))

    return wrapper


def guarded_write(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any) -> T:
        return self.guard.write(lambda: method(self, *args))

    return wrapper


def in_parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run independent reads at once (each in a copy of this context: same budget)."""
    if len(calls) == 1:
        return [calls[0]()]
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any], context: contextvars.Context) -> None:
        try:
            results[index] = context.run(call)
        except BaseException as error:  # re-raised in the caller's thread below
            errors[index] = error

    threads = [
        threading.Thread(target=run, args=(i, c, contextvars.copy_context()), daemon=True)
        for i, c in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results
