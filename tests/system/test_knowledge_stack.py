"""The policy knowledge base through the running stack (issue 19), over HTTP only.

`make run`'s processes with two Rasa workers: policy questions are answered from the articles
(the excerpt, "Source: <title>, effective <date>, version <n>", the metadata outside evaluations
read); a follow-up stays with the previous answer's article; a question no article covers gets
"no article" with a ticket and a person offered. Then a knowledge editor edits and publishes an
article in the console, and the chat's answer changes within 60 s with no retraining and no
restart (the same process ids, the same model), while the old version stays readable with who
changed it and when.
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.demo.agents import demo_password
from scripts.stack_process import StackProcess
from tests.knowledge_console import csrf_token, editor_form

from .chat_client import signed_in
from .running import started_stack

QUESTION = "how much paternity leave do I get?"
MARKER = "confirmed for this check"
WITHIN_SECONDS = 60  # the bar; the action server re-reads the library every 10 s


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    # Two Rasa workers, as `make run` has them on two cores: the knowledge lives in neither.
    # No event broker, so no insight consumer: service insight is not what this checks, and
    # two workers creating the SQL broker's table at the same moment can stop one of them
    # ("table events already exists", seen on a loaded machine).
    with started_stack(tmp_path_factory.mktemp("kb-stack"),
                       {"SANIC_WORKERS": "2", "EVENT_BROKER_URL": "off",
                        "INSIGHT_CONSUMER": "external"}) as running:
        yield running


def chat(session: requests.Session, stack: StackProcess, text: str) -> list[dict[str, Any]]:
    """One message; the assistant's replies as the web API returns them (text, buttons, custom)."""
    response = session.post(f"{stack.web}/api/messages", json={"text": text}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def texts(messages: list[dict[str, Any]]) -> list[str]:
    """The replies' texts. Rasa's channels send each paragraph as its own message, so an
    answer is its excerpt, then "Source: ..." with the link."""
    return [m["text"] for m in messages if m.get("text")]


def answer_of(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The knowledge answer's metadata (topic, article id, version) from the custom payload."""
    found = [m["custom"]["metadata"]["event_payload"] for m in messages
             if (m.get("custom") or {}).get("metadata", {}).get("event_type")
             == "knowledge_answer"]
    assert len(found) == 1, messages
    return found[0]


def test_policy_questions_follow_ups_and_uncovered_questions(stack: StackProcess) -> None:
    session = signed_in(stack, "alice.hughes")
    first = chat(session, stack, QUESTION)
    paternity = answer_of(first)
    assert paternity["answered"] is True and paternity["topic"] == "paternity"
    excerpt, source = texts(first)
    assert "paternity leave" in excerpt
    assert re.fullmatch(r"Source: Paternity leave and pay, effective \d{1,2} \w+ \d{4}, "
                        r"version \d+\. Full article: /knowledge/articles/\d+\?version=\d+",
                        source)
    assert "maternity" not in excerpt.lower()  # the domain's fixed answer is gone

    follow_up = chat(session, stack, "and if I'm part time?")
    same = answer_of(follow_up)
    assert (same["topic"], same["article_id"]) == ("paternity", paternity["article_id"])
    assert "part time" in texts(follow_up)[0]

    uncovered = chat(session, stack, "is there a policy about bringing my dog into the office?")
    assert answer_of(uncovered) == {"answered": False, "topic": "none", "article_id": None,
                                    "version": None}
    assert texts(uncovered)[0].startswith("I don't have an article on that")
    assert {b["payload"] for b in uncovered[0]["buttons"]} == {"/ticket_create",
                                                               "/human_handoff"}


def console(stack: StackProcess, username: str) -> requests.Session:
    session = requests.Session()
    session.headers["Origin"] = stack.web
    response = session.post(f"{stack.web}/console/signin", allow_redirects=False,
                            data={"username": username, "password": demo_password()})
    assert response.status_code == 303, response.text
    return session


def test_an_article_published_in_the_console_changes_the_answer_within_a_minute(
        stack: StackProcess) -> None:
    employee = signed_in(stack, "ben.okafor")
    before = answer_of(chat(employee, stack, QUESTION))
    article, old_version = before["article_id"], before["version"]
    processes = stack.pids()
    model = stack.model

    editor = console(stack, "hannah.reed")
    page = editor.get(f"{stack.web}/console/knowledge/{article}/edit")
    assert page.status_code == 200
    form = editor_form(page.text)
    sentence = "You can take 1 week or 2 weeks of paternity leave."
    assert sentence in form["body"]
    form["body"] = form["body"].replace(sentence, sentence[:-1] + f", {MARKER}.")
    form["summary"] = form["summary"].replace("paternity leave,", f"paternity leave ({MARKER}),")
    form["note"] = "system test: wording"
    published = editor.post(f"{stack.web}/console/knowledge/{article}/edit", allow_redirects=False,
                            data={**form, "do": "publish", "csrf_token": csrf_token(page.text)})
    assert published.status_code == 303, published.text
    published_at = time.monotonic()

    # Ask as an employee would, one message after another, until the answer changes.
    answered = before
    while time.monotonic() - published_at < WITHIN_SECONDS:
        messages = chat(employee, stack, QUESTION)
        answered = answer_of(messages)
        if answered["version"] != old_version:
            break
    took = time.monotonic() - published_at
    print(f"the chat answered from the new version {took:.1f} s after the publish")
    assert answered["version"] == old_version + 1, f"still version {old_version} after {took:.0f} s"
    assert took < WITHIN_SECONDS
    assert answered["article_id"] == article
    excerpt, source = texts(messages)
    assert MARKER in excerpt
    assert f"version {old_version + 1}. Full article: " in source
    assert stack.pids() == processes and stack.model == model  # no restart, no new model

    # The old version is still there: to employees, marked as replaced, and in the console's
    # history with who changed what, and when.
    old_page = employee.get(f"{stack.web}/knowledge/articles/{article}?version={old_version}")
    assert old_page.status_code == 200
    assert sentence in old_page.text and MARKER not in old_page.text
    assert "which has been replaced" in old_page.text
    history = editor.get(f"{stack.web}/console/knowledge/{article}/history").text
    rows = re.findall(r"<tr><td><a [^>]*>(\d+)</a></td><td>(\w+)</td><td>(.*?)</td>"
                      r"<td>(.*?)</td><td>(.*?)</td></tr>", history)
    by_version = {int(row[0]): row for row in rows}
    new, old = by_version[old_version + 1], by_version[old_version]
    assert new[1] == "Published" and new[2].endswith("by hannah.reed")
    assert new[4] == "system test: wording"
    assert old[1] == "Superseded" and old[3].endswith("by hannah.reed")
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+(\+00:00)?">', old[3])  # UTC
    old_in_console = editor.get(
        f"{stack.web}/console/knowledge/{article}/versions/{old_version}").text
    assert sentence in old_in_console and "Superseded" in old_in_console
