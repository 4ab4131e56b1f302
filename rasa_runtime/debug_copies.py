"""Debug log arguments are not deep-copied while debug logging is off (installed by `hot_path`).

Rasa 3.6 wraps the arguments of many `structlogger.debug(...)` calls in `copy.deepcopy`, so
that its log anonymizer may edit them. Python evaluates the arguments before the call, so the
copies are made even when the configured structlog wrapper drops debug events, as Rasa's
default (`make_filtering_bound_logger(INFO)`) does. Among them, on every message: the
memoization policy copies the whole conversation's dialogue states at each prediction, the
processor copies each action's events, and a form copies the latest user message with its
parse (intent and response-selector rankings) on each of its turns.

In four modules on the message path (below) every `copy.deepcopy` is such an argument (the
debug call's own argument, not part of a larger expression), and `copy` is used for nothing
else. `install` checks that in each module's source, and in each
where it holds replaces the module's name `copy` with `DEBUG_ONLY_COPY`: its `deepcopy`
copies as before while debug events are logged, and otherwise hands back its argument, which
the no-op debug call then drops unread. A module whose source says otherwise (another Rasa
release, say) is left as it is.
"""
from __future__ import annotations

import ast
import copy
import importlib
import inspect
from typing import Any, Callable, Dict, List, Optional, Text

import structlog

MODULES = (
    "rasa.core.processor",
    "rasa.core.actions.forms",
    "rasa.core.policies.memoization",
    "rasa.core.policies.rule_policy",
)


def debug_logged() -> bool:
    """False only when the configured structlog wrapper drops debug events (its `debug` is
    structlog's no-op); any other wrapper is taken to log them."""
    nop = getattr(structlog._native, "_nop", None)  # what a filtering wrapper's dropped level is
    wrapper = structlog.get_config()["wrapper_class"]
    return nop is None or getattr(wrapper, "debug", None) is not nop


class DebugOnlyCopy:
    """Stands in for the `copy` module where every deep copy is a debug log argument."""

    @staticmethod
    def deepcopy(value: Any, memo: Optional[Dict[int, Any]] = None) -> Any:
        return copy.deepcopy(value, memo) if debug_logged() else value

    def __getattr__(self, name: Text) -> Any:
        return getattr(copy, name)


DEBUG_ONLY_COPY = DebugOnlyCopy()


def _is_debug_call(node: ast.AST) -> bool:
    function = getattr(node, "func", None)
    return (isinstance(node, ast.Call) and isinstance(function, ast.Attribute)
            and function.attr == "debug" and isinstance(function.value, ast.Name)
            and function.value.id == "structlogger")


def only_debug_copies(source: Text) -> bool:
    """Every use of the name `copy` is a `copy.deepcopy(...)` that is itself an argument of a
    `structlogger.debug(...)` call (so nothing but that call sees its result), and there is
    at least one."""
    parents: Dict[ast.AST, ast.AST] = {}
    tree = ast.parse(source)
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            parents[child] = parent
    uses = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == "copy"]
    return bool(uses) and all(_debug_argument_copy(use, parents) for use in uses)


def _debug_argument_copy(use: ast.Name, parents: Dict[ast.AST, ast.AST]) -> bool:
    attribute = parents.get(use)
    call = parents.get(attribute) if attribute is not None else None
    if not (isinstance(attribute, ast.Attribute) and attribute.attr == "deepcopy"
            and isinstance(call, ast.Call) and call.func is attribute):
        return False
    holder = parents.get(call)
    if isinstance(holder, ast.keyword):
        holder = parents.get(holder)
    return holder is not None and _is_debug_call(holder)


def install(source_of: Callable[[Any], Text] = inspect.getsource) -> List[Text]:
    """Give each module of MODULES whose source passes `only_debug_copies` the stand-in;
    returns the names of the modules that got it."""
    installed = []
    for name in MODULES:
        module = importlib.import_module(name)
        if getattr(module, "copy", None) is DEBUG_ONLY_COPY:
            installed.append(name)
        elif getattr(module, "copy", None) is copy and only_debug_copies(source_of(module)):
            module.copy = DEBUG_ONLY_COPY  # type: ignore[attr-defined]
            installed.append(name)
    return installed
