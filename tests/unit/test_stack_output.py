"""`make run`'s quiet terminal: with --logs each process of scripts/stack.py writes to its own
file, and a process that stops is shown by the end of that file; without it (the tests, the
benchmark) the output stays on the stack's own stdout and stderr."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from scripts.stack import Child

SPEAKS = "import sys; print('started', flush=True); print('oops', file=sys.stderr, flush=True)"


def test_with_logs_each_process_writes_its_own_file(tmp_path: Path,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    child = Child("ticket worker", [sys.executable, "-c", SPEAKS], None)
    child.start(dict(os.environ), tmp_path)
    assert child.process is not None and child.process.wait(timeout=60) == 0
    assert child.log == tmp_path / "ticket-worker.log"
    assert child.log.read_text().splitlines() == ["started", "oops"]
    assert capfd.readouterr() == ("", "")  # nothing on the terminal
    assert child.last_words() == "\n".join([f"--- the end of {child.log}:", "started", "oops"])


def test_the_end_of_a_long_log_only(tmp_path: Path) -> None:
    child = Child("rasa", [sys.executable, "-c", "for i in range(100): print(i)"], None)
    child.start(dict(os.environ), tmp_path)
    assert child.process is not None and child.process.wait(timeout=60) == 0
    assert child.last_words(lines=3).splitlines()[1:] == ["97", "98", "99"]


def test_without_logs_the_output_stays_on_the_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    child = Child("web app", [sys.executable, "-c", SPEAKS], None)
    child.start(dict(os.environ), None)
    assert child.process is not None and child.process.wait(timeout=60) == 0
    assert child.log is None and child.last_words() == ""
    assert capfd.readouterr() == ("started\n", "oops\n")


def test_each_process_gets_its_own_secrets_and_no_other(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """stack.py takes every secret out of the environment it shares, and hands each process
    back its own (SECRETS_OF): the web app never sees Rasa's API token or another relay key."""
    import json

    import scripts.stack as stack

    monkeypatch.setattr(stack, "VAR", tmp_path)  # rasa_readiness's marker directory
    env = {**os.environ, **{name: f"value-of-{name}" for name in stack.PRIVATE},
           "ACTION_SERVER_PORT": "1", "RASA_PORT": "2", "WEB_PORT": "3", "WEB_METRICS_PORT": "4",
           "ACTION_METRICS_PORT": "5", "WORKER_METRICS_PORT": "6", "INSIGHT_METRICS_PORT": "7"}
    dump = ("import json, os; print(json.dumps(sorted(n for n in os.environ if n in "
            f"{sorted(stack.PRIVATE)!r})))")
    seen = {}
    for child in stack.children(env, "model.tar.gz"):
        child.command = [sys.executable, "-c", dump]
        child.start(env, tmp_path)
        assert child.process is not None and child.process.wait(timeout=60) == 0
        seen[child.name] = json.loads(child.log.read_text())
    assert seen == {name: sorted(secrets + stack.OPTIONAL_SECRETS_OF[name])
                    for name, secrets in stack.SECRETS_OF.items()}
    assert seen["web app"] == ["ENTRA_CLIENT_SECRET", "RELAY_CONSOLE_KEY", "WIDGET_TOKEN_SECRET"]
    assert seen["ticket worker"] == ["NOTIFY_API_KEY", "RELAY_TICKETS_KEY"]
    assert seen["insight consumer"] == []
