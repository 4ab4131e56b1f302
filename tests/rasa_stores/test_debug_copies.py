"""`rasa_runtime.debug_copies`: Rasa's debug log arguments are deep-copied only while debug
events are logged, and only in modules whose every deep copy is such an argument."""
from __future__ import annotations

import copy
import importlib
import inspect
import logging

import pytest
import structlog

from rasa.core.agent import Agent
from rasa_runtime import debug_copies
from rasa_runtime.debug_copies import DEBUG_ONLY_COPY, MODULES, only_debug_copies


def test_each_listed_rasa_module_copies_only_for_its_debug_calls() -> None:
    for name in MODULES:
        assert only_debug_copies(inspect.getsource(importlib.import_module(name))), name


def test_the_installed_hot_path_gave_each_listed_module_the_stand_in(agent: Agent) -> None:
    for name in MODULES:
        assert importlib.import_module(name).copy is DEBUG_ONLY_COPY, name
    assert debug_copies.install() == list(MODULES)  # again: nothing changes


@pytest.mark.parametrize("source", [
    "structlogger.debug('event', value=copy.deepcopy(a))",
    "structlogger.debug('event', copy.deepcopy(a), other=copy.deepcopy(b))",
    "def f(a):\n    structlogger.debug('event', value=copy.deepcopy(a))\n    return a",
])
def test_sources_whose_copies_are_debug_arguments_pass(source: str) -> None:
    assert only_debug_copies(source)


@pytest.mark.parametrize("source", [
    "import json",  # no copy at all: nothing to skip
    "kept = copy.deepcopy(a)",
    "structlogger.debug('event', value=copy.deepcopy(a))\nkept = copy.deepcopy(b)",
    "structlogger.info('event', value=copy.deepcopy(a))",
    "structlogger.debug('event', value=copy.copy(a))",
    "structlogger.debug('event', value=normalise(copy.deepcopy(a)))",  # normalise may edit it
    "structlogger.debug('event', value=[copy.deepcopy(a)])",
    "logger.debug('event', copy.deepcopy(a))",
    "structlogger.debug('event', value=copy.deepcopy(a))\nhelper(copy)",
])
def test_sources_with_any_other_copy_are_refused(source: str) -> None:
    assert not only_debug_copies(source)


def test_a_module_with_another_copy_keeps_the_copy_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = importlib.import_module(MODULES[0])
    monkeypatch.setattr(module, "copy", copy)
    installed = debug_copies.install(source_of=lambda _module: "kept = copy.deepcopy(a)")
    assert MODULES[0] not in installed
    assert module.copy is copy


def test_no_copy_while_debug_events_are_dropped(debug_logging_off: None) -> None:
    value = {"events": [{"event": "user", "parse_data": {"intent": {"name": "greet"}}}]}
    assert not debug_copies.debug_logged()
    assert DEBUG_ONLY_COPY.deepcopy(value) is value


@pytest.mark.parametrize("level", [logging.DEBUG, logging.NOTSET])
def test_a_deep_copy_while_debug_events_are_logged(restored_structlog: None, level: int) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))
    value = {"events": [{"event": "user", "parse_data": {"intent": {"name": "greet"}}}]}
    copied = DEBUG_ONLY_COPY.deepcopy(value)
    assert debug_copies.debug_logged()
    assert copied == value and copied is not value
    assert copied["events"][0]["parse_data"] is not value["events"][0]["parse_data"]


def test_another_wrapper_class_is_taken_to_log_debug(restored_structlog: None) -> None:
    structlog.configure(wrapper_class=structlog.stdlib.BoundLogger)
    value = [[1]]
    assert DEBUG_ONLY_COPY.deepcopy(value) is not value


def test_the_stand_in_lends_the_rest_of_the_copy_module() -> None:
    assert DEBUG_ONLY_COPY.copy is copy.copy
    assert DEBUG_ONLY_COPY.Error is copy.Error
