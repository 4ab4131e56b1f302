"""action_answer_policy with real rasa-sdk Trackers against the demo database and the starting
library (knowledge/articles): the excerpt, source and link; the custom payload; follow-ups from
the previous article; "no article" with a ticket and a person offered; the record of the answer;
the department from the verified principal only."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import policy
from actions.policy import ActionAnswerPolicy
from bot.config import Settings
from bot.knowledge.library import import_article_folder
from bot.knowledge.models import KbAnswer, KbArticle
from bot.storage.database import Database

from .conftest import make_tracker, widget_metadata

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "knowledge" / "articles"
FIXTURES = ROOT / "tests" / "knowledge" / "articles"


@pytest.fixture
def library(demo_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    report = import_article_folder(demo_db, LIBRARY)
    assert report.written
    monkeypatch.setattr(policy, "_settings", lambda: Settings(
        public_base_url="https://helpdesk.example.gov.uk", kb_refresh_seconds=0))
    yield demo_db


def ask(text: str, metadata: dict[str, Any] | None = None,
        slots: dict[str, Any] | None = None, sender: str = "widget-policy"
        ) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, "policy_question", metadata, slots, sender_id=sender)
    events = asyncio.run(ActionAnswerPolicy().run(dispatcher, tracker, {}))
    return dispatcher, events


def slot(events: list[dict[str, Any]], name: str) -> Any:
    return next(e["value"] for e in events if e.get("event") == "slot" and e["name"] == name)


def article(db: Database, slug: str) -> int:
    with db.unit_of_work() as session:
        return session.execute(select(KbArticle.id).where(KbArticle.slug == slug)).scalar_one()


def test_a_policy_question_gets_an_excerpt_its_source_and_a_link(library: Database) -> None:
    dispatcher, events = ask("how long is paternity leave?", widget_metadata("alice.hughes"))
    [message] = dispatcher.messages
    paternity = article(library, "paternity")
    excerpt, source = message["text"].split("\n\n")
    assert 20 < len(excerpt) <= 330
    assert source.startswith("Source: ")
    assert ", effective " in source and ", version 2. Full article: " in source
    assert source.endswith(f"/knowledge/articles/{paternity}?version=2")  # a path in the widget
    assert message["custom"] == {"metadata": {"event_type": "knowledge_answer", "event_payload": {
        "answered": True, "topic": "paternity", "article_id": paternity, "version": 2,
        "url": f"/knowledge/articles/{paternity}?version=2"}}}
    assert slot(events, "kb_topic") == "paternity"
    assert slot(events, "kb_article_id") == str(paternity)


def test_teams_and_slack_get_an_absolute_link(library: Database) -> None:
    metadata = {"principal": {"channel": "slack", "tenant": "T0TEST", "subject": "U0NOBODY"}}
    dispatcher, _ = ask("how long is paternity leave?", metadata)
    url = dispatcher.messages[0]["custom"]["metadata"]["event_payload"]["url"]
    assert url.startswith("https://helpdesk.example.gov.uk/knowledge/articles/")
    assert dispatcher.messages[0]["text"].endswith(url)


def test_a_follow_up_is_answered_from_the_previous_article(library: Database) -> None:
    _, events = ask("how much sick pay do I get?", widget_metadata("alice.hughes"))
    sick_pay = article(library, "sick_pay")
    assert slot(events, "kb_article_id") == str(sick_pay)
    dispatcher, events = ask("and if I'm part time?", widget_metadata("alice.hughes"),
                             {"kb_article_id": str(sick_pay), "kb_topic": "sick_pay"})
    payload = dispatcher.messages[0]["custom"]["metadata"]["event_payload"]
    assert (payload["topic"], payload["article_id"]) == ("sick_pay", sick_pay)
    assert "part" in dispatcher.messages[0]["text"].lower()


def test_a_part_time_follow_up_to_paternity_leave_stays_with_paternity(library: Database) -> None:
    """The issue's example: "how much paternity leave do I get?", then "and if I'm part
    time?" is answered from the paternity article's section about part-time weeks."""
    _, events = ask("how much paternity leave do I get?", widget_metadata("alice.hughes"))
    paternity = article(library, "paternity")
    assert slot(events, "kb_article_id") == str(paternity)
    dispatcher, _ = ask("and if I'm part time?", widget_metadata("alice.hughes"),
                        {"kb_article_id": str(paternity), "kb_topic": "paternity"})
    payload = dispatcher.messages[0]["custom"]["metadata"]["event_payload"]
    assert (payload["topic"], payload["article_id"]) == ("paternity", paternity)
    assert "part time" in dispatcher.messages[0]["text"]


def test_an_uncovered_question_is_offered_a_ticket_or_a_person(library: Database) -> None:
    dispatcher, events = ask("can I bring my dog into the office?",
                             widget_metadata("alice.hughes"), {"kb_article_id": "3"})
    [message] = dispatcher.messages
    assert message["response"] == "utter_kb_no_article"
    assert message["custom"]["metadata"]["event_payload"] == {
        "answered": False, "topic": "none", "article_id": None, "version": None}
    assert slot(events, "kb_article_id") is None and slot(events, "kb_topic") is None


def test_every_answer_is_recorded_without_the_question(library: Database) -> None:
    ask("how long is paternity leave?", widget_metadata("alice.hughes"), sender="widget-a")
    ask("can I bring my dog into the office?", widget_metadata("alice.hughes"),
        sender="widget-a")
    with library.unit_of_work() as session:
        rows = session.execute(select(KbAnswer).order_by(KbAnswer.id)).scalars().all()
        assert [(r.conversation_id, r.answered, r.topic) for r in rows] == [
            ("widget-a", True, "paternity"), ("widget-a", False, None)]
        assert rows[0].employee_id is not None and rows[0].channel == "widget"
        columns = {c.name for c in KbAnswer.__table__.columns}
        assert not {"text", "question", "message"} & columns


def test_the_department_comes_from_the_verified_principal_only(
        demo_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A department's own article answers its staff; slots and text cannot pick it."""
    assert import_article_folder(demo_db, FIXTURES).written
    monkeypatch.setattr(policy, "_settings", lambda: Settings(kb_refresh_seconds=0))
    from bot.knowledge import answering
    from bot.knowledge.index_cache import IndexCache
    from dataclasses import replace

    from bot.knowledge.ranking import LEXICAL
    caches: dict[str, IndexCache] = {}
    monkeypatch.setattr(answering, "_cache_for", lambda url, seconds: caches.setdefault(
        url, IndexCache(0, replace(LEXICAL, min_confidence=0.2), embeddings=None)))
    dds = article(demo_db, "annual_leave--dds")
    general = article(demo_db, "annual_leave")
    question = "how many days of annual leave do staff get"
    with demo_db.unit_of_work() as session:
        from bot.storage.models import ChannelIdentity, Department, Employee
        departments = dict(session.execute(
            select(ChannelIdentity.subject, Department.code)
            .join(Employee, ChannelIdentity.employee_id == Employee.id)
            .join(Department, Employee.department_id == Department.id)
            .where(ChannelIdentity.channel == "widget")).all())
    dds_subject = next(s for s, code in departments.items() if code == "DDS")
    other_subject = next(s for s, code in departments.items() if code != "DDS")
    answered = {}
    for name, metadata, slots in [
            ("dds", widget_metadata(dds_subject), None),
            ("other", widget_metadata(other_subject), {"department": "DDS"}),
            ("nobody", None, None)]:
        dispatcher, _ = ask(question + " in DDS" if name == "other" else question,
                            metadata, slots)
        answered[name] = dispatcher.messages[0]["custom"]["metadata"]["event_payload"][
            "article_id"]
    assert answered == {"dds": dds, "other": general, "nobody": general}


def test_a_failure_becomes_a_polite_reply(library: Database,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(policy, "answer_question", broken)
    dispatcher, events = ask("how long is paternity leave?", widget_metadata("alice.hughes"))
    assert [m["response"] for m in dispatcher.messages] == ["utter_service_error"]
    assert events == []


def test_the_action_server_builds_the_index_before_the_first_question(
        library: Database) -> None:
    """The warm-up (started with each action-server process) builds the encoder and the index
    with the library's vectors; the first question then uses that index, not a new one."""
    from bot.knowledge import answering

    policy.warm_up_in_background().join(timeout=300)
    cache = answering._cache_for(library.url, 0)
    assert cache.builds == 1
    assert answering.index_for(library, 0).semantic  # as the assistant ranks: words and meaning
    dispatcher, _ = ask("how long is paternity leave?", widget_metadata("alice.hughes"))
    assert dispatcher.messages[0]["custom"]["metadata"]["event_payload"]["topic"] == "paternity"
    assert cache.builds == 1
