"""The circuit breaker and the per-answer budget of bot/backoffice/resilience.py, without HTTP."""

from __future__ import annotations

import threading
import time

import pytest

from bot.backoffice.errors import SystemUnavailable
from bot.backoffice.resilience import Breaker, CircuitOpen, Guard, Transient, answering


def failing() -> None:
    raise Transient("refused")


def counts(error: BaseException) -> bool:
    return isinstance(error, Transient)


def test_the_breaker_opens_after_failures_in_a_row_and_a_trial_closes_it() -> None:
    breaker = Breaker(3, 0.2, counts)
    for _ in range(2):
        with pytest.raises(Transient):
            breaker.call(failing)
    with pytest.raises(CircuitOpen):  # the third failure opens it
        breaker.call(failing)
    called = []
    with pytest.raises(CircuitOpen):  # open: not called at all
        breaker.call(lambda: called.append(1))
    assert called == [] and breaker.state == "open"
    time.sleep(0.25)
    assert breaker.state == "half-open"
    with pytest.raises(CircuitOpen):  # the trial fails: open again at once
        breaker.call(failing)
    assert breaker.state == "open"
    time.sleep(0.25)
    assert breaker.call(lambda: "answer") == "answer" and breaker.state == "closed"


def test_an_answer_that_is_not_a_system_failure_resets_the_count() -> None:
    breaker = Breaker(2, 30, counts)
    with pytest.raises(Transient):
        breaker.call(failing)
    with pytest.raises(LookupError):  # a business refusal: the system answered
        breaker.call(lambda: (_ for _ in ()).throw(LookupError("no such record")))
    with pytest.raises(Transient):
        breaker.call(failing)
    assert breaker.state == "closed"


def test_while_the_trial_runs_other_calls_fail_at_once() -> None:
    breaker = Breaker(1, 0.05, counts)
    with pytest.raises(CircuitOpen):
        breaker.call(failing)
    time.sleep(0.1)
    release = threading.Event()
    trial = threading.Thread(target=lambda: breaker.call(release.wait))
    trial.start()
    time.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: "second")
    assert time.monotonic() - started < 0.05
    release.set()
    trial.join()
    assert breaker.state == "closed"


def test_turns_asking_a_slow_system_at_once_do_not_wait_for_each_other() -> None:
    """Each attempt takes 0.4 s and fails (a read timing out); four turns with a 0.5 s budget
    each at the same time: each is over in about its budget. A breaker that holds its lock
    through the call (pybreaker) made the fourth wait for the three before it (1.6 s)."""
    guard = Guard("the HR system")

    def timing_out() -> None:
        time.sleep(0.4)
        raise Transient("ReadTimeout")

    took: list[float] = []
    outcomes: list[BaseException] = []

    def turn(number: int) -> None:
        started = time.monotonic()
        with answering(0.5):
            try:
                guard.read(("leave_position", (number,)), timing_out)
            except SystemUnavailable as error:
                outcomes.append(error)
        took.append(time.monotonic() - started)

    threads = [threading.Thread(target=turn, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 4
    assert max(took) < 1.0, took
