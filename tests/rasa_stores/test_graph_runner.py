"""`rasa_runtime.patches.graph_runner` evaluates Rasa's graphs as `dask.get` does, without dask's
scheduler: on small graphs against dask itself, and on the trained model's parse and
prediction graphs against Rasa's own `DaskGraphRunner.run`."""
from __future__ import annotations

from typing import Any, List

import dask
import pytest

from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa_runtime import patches
from rasa_runtime.patches import graph_runner


class Node:
    """Like Rasa's GraphNode: returns (name, output) and counts its calls."""

    def __init__(self, name: str, output: Any = None, error: Exception | None = None) -> None:
        self.name, self.output, self.error, self.calls = name, output, error, 0

    def __call__(self, *inputs: Any) -> Any:
        self.calls += 1
        if self.error:
            raise self.error
        return self.name, (self.output, inputs)


def diamond() -> dict:
    """a <- b, a <- c, b and c <- d (a node two others need), plus an input and a node that
    needs a name nobody provides."""
    return {"d": (Node("d", 1), "__input__"),
            "b": (Node("b", 2), "d"),
            "c": (Node("c", 3), "d", "missing"),
            "a": (Node("a", 4), "b", "c"),
            "unused": (Node("unused"), "d"),
            "__input__": ("__input__", ["a value"])}


def test_a_plain_graph_gives_what_dask_gives() -> None:
    assert graph_runner.evaluate(diamond(), ["a", "d"]) == dask.get(diamond(), ["a", "d"])


def test_each_node_runs_once_and_only_those_the_targets_need() -> None:
    graph = diamond()
    graph_runner.evaluate(graph, ["a", "b"])
    assert [graph[name][0].calls for name in ("a", "b", "c", "d", "unused")] == [1, 1, 1, 1, 0]


def test_a_need_nobody_provides_reaches_the_node_as_its_name() -> None:
    _, (_, inputs) = graph_runner.evaluate(diamond(), ["c"])[0]
    assert inputs[1] == "missing"


def test_a_node_error_propagates_unchanged() -> None:
    error = ValueError("boom")
    graph = {"a": (Node("a", error=error),)}
    with pytest.raises(ValueError) as raised:
        graph_runner.evaluate(graph, ["a"])
    assert raised.value is error


@pytest.mark.parametrize("graph, plain", [
    (diamond(), True),
    ({"a": (Node("a"), ["b"]), "b": (Node("b"),)}, False),  # a list of keys: dask's business
    ({"a": (Node("a"), (Node("b"),))}, False),  # a nested task
])
def test_only_plain_graphs_are_evaluated_here(graph: dict, plain: bool) -> None:
    assert graph_runner.is_plain(graph) is plain


class FakeRunner:
    """What `unscheduled_run` uses of a DaskGraphRunner."""

    _add_inputs_to_graph = staticmethod(DaskGraphRunner._add_inputs_to_graph)
    _execution_context = "context"

    def __init__(self, graph: dict, targets: List[str]) -> None:
        self.graph, self.built = graph, 0
        self._graph_schema = type("Schema", (), {
            "target_names": targets, "minimal_graph_schema": lambda _, t: t})()

    def _build_dask_graph(self, _: Any) -> dict:
        self.built += 1
        return self.graph


def rasas_run(calls: List[Any]) -> Any:
    """Stands in for Rasa's `DaskGraphRunner.run`, noting what it is asked to run."""

    def run(runner: Any, inputs: Any = None, targets: Any = None) -> Any:
        calls.append(targets)
        raise GraphRunError("Error running runner.")

    return run


def test_other_graphs_go_to_rasas_run_and_runtime_errors_are_wrapped_as_rasa_does() -> None:
    calls: List[Any] = []
    run = graph_runner.unscheduled_run(rasas_run(calls))
    nested = FakeRunner({"a": (Node("a"), ["b"]), "b": (Node("b"),)}, ["a"])
    with pytest.raises(GraphRunError):
        run(nested, targets=["a"])
    assert calls == [["a"]]
    plain = FakeRunner({"a": (Node("a", error=RuntimeError("node failed")),)}, ["a"])
    with pytest.raises(GraphRunError):  # Rasa wraps a RuntimeError either way
        run(plain)
    assert calls == [["a"]]


def test_the_minimal_graph_is_built_once_and_inputs_never_leak_into_it() -> None:
    runner = FakeRunner({"a": (Node("a"), "__x__")}, ["a"])
    run = graph_runner.unscheduled_run(rasas_run([]))
    first = run(runner, inputs={"__x__": 1})
    second = run(runner, inputs={"__x__": 2})
    assert first["a"][1][0] == ("__x__", 1) and second["a"][1][0] == ("__x__", 2)
    assert runner.built == 1 and "__x__" not in runner.graph


RUN = "rasa.engine.runner.dask:DaskGraphRunner.run"
TEXTS = ("hello", "how much leave do I have left?", "I need to raise a query about my payslip",
         "my overtime from October is missing", "yes", "what's the weather like in Leeds?",
         "can I speak to someone?", "thanks")


async def test_parses_and_predictions_are_those_of_rasas_runner(
        agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    assert DaskGraphRunner.run is not patches.original(RUN)
    processor = agent.processor

    async def outcomes(sender: str) -> list:
        seen = []
        for text in TEXTS:
            await agent.handle_text(text, sender_id=sender)
            tracker = await agent.tracker_store.retrieve(sender)
            parse = processor._parse_message_with_graph(UserMessage(text), tracker)
            prediction = processor._predict_next_with_tracker(tracker)
            seen.append((parse, prediction.policy_name, prediction.probabilities))
        return seen

    patched = await outcomes("graph-runner-patched")
    monkeypatch.setattr(DaskGraphRunner, "run", patches.original(RUN))
    assert await outcomes("graph-runner-stock") == patched
