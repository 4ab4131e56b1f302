"""Rasa's inference graphs run without dask's scheduler (the patch `graph_runner`
of `rasa_runtime.patches`).

`DaskGraphRunner.run` runs every parse (~10 nodes) and every action prediction (17 nodes, two
or three a message) through `dask.get`: dask orders the graph, builds its bookkeeping and
executes the tasks one by one on the calling thread. For graphs this small that scheduling
cost as much as a third of a prediction (py-spy, docs/performance.md). `run` here evaluates
the same graph the same way, on the same thread, without the scheduler:

- a task is a tuple whose first element is callable (Rasa's `GraphNode`), called with its
  arguments; an argument that names another entry of the graph is replaced by that entry's
  value, any other is passed as it is (dask's rule: a need that was not provided reaches the
  node as its name, and `GraphNode` warns about it);
- any other entry (Rasa's inputs, `(name, value)` pairs) is its own value;
- each entry is evaluated at most once, and only the entries the targets depend on;
- an exception raised by a node propagates unchanged, as dask re-raises it.

Rasa's nodes depend on nothing but their inputs, so the order in which independent nodes run
cannot change a result. A graph of any other shape (dask's nested tasks, lists of keys) goes
to Rasa's own `run` (`dask.get`) as before. The minimal graph for a set of targets is a
function of the schema alone, so it is built once per runner and targets.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional, Text, Tuple

# The original's debug line, under the original's logger name.
logger = logging.getLogger("rasa.engine.runner.dask")

_GRAPHS_ATTRIBUTE = "_helpdesk_minimal_graphs"


def _is_task(entry: Any) -> bool:
    return isinstance(entry, tuple) and bool(entry) and callable(entry[0])


def is_plain(graph: Dict[Text, Any]) -> bool:
    """True when every task's arguments are names (strings) and nothing else is a task."""
    return all(all(isinstance(argument, str) for argument in entry[1:])
               for entry in graph.values() if _is_task(entry))


def evaluate(graph: Dict[Text, Any], targets: List[Text]) -> Tuple[Any, ...]:
    """`dask.get(graph, targets)` for a graph where `is_plain(graph)`."""
    values: Dict[Text, Any] = {}

    def value_of(key: Text) -> Any:
        if key in values:
            return values[key]
        entry = graph[key]
        if _is_task(entry):
            arguments = [value_of(name) if name in graph else name for name in entry[1:]]
            result = entry[0](*arguments)
        else:
            result = entry
        values[key] = result
        return result

    return tuple(value_of(target) for target in targets)


def _minimal_graph(runner: Any, targets: List[Text]) -> Tuple[Dict[Text, Any], bool]:
    """A fresh copy of the runner's graph for `targets` (callers add their inputs to it), and
    whether it can be evaluated here: plain, and holding every target. Inputs added later are
    `(name, value)` pairs, never tasks, so they cannot change the answer."""
    graphs = runner.__dict__.setdefault(_GRAPHS_ATTRIBUTE, {})
    key = tuple(targets)
    if key not in graphs:
        schema = runner._graph_schema.minimal_graph_schema(targets)
        graph = runner._build_dask_graph(schema)
        graphs[key] = (graph, is_plain(graph) and all(target in graph for target in targets))
    graph, evaluable = graphs[key]
    return dict(graph), evaluable


def unscheduled_run(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap `DaskGraphRunner.run`: a plain graph evaluated by `evaluate`, any other by Rasa's
    own `run` (through `dask.get`)."""

    def run(self: Any, inputs: Optional[Dict[Text, Any]] = None,
            targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
        from rasa.engine.exceptions import GraphRunError

        run_targets = targets if targets else self._graph_schema.target_names
        run_graph, evaluable = _minimal_graph(self, run_targets)
        if not evaluable:
            return original(self, inputs, targets)
        if inputs:
            self._add_inputs_to_graph(inputs, run_graph)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(f"Running graph with inputs: {inputs}, targets: {targets} "
                         f"and {self._execution_context}.")
        try:
            return dict(evaluate(run_graph, run_targets))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error

    run.__wrapped__ = original  # type: ignore[attr-defined]
    run.__doc__ = original.__doc__
    return run
