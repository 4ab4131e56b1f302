"""The changes to Rasa's internals that Rasa offers no hook for, in one table (`PATCHES`),
installed by `scripts/rasa_server.py` before `rasa run` starts.

Everything else in `rasa_runtime/` uses what Rasa supports (stores and the event broker named
in endpoints.yml, policies named in config.yml). A patch here replaces a function inside Rasa,
so each row names every function it replaces, with the sha256 of that function's source
(`inspect.getsource`) in the Rasa release it was written against, and of any Rasa function
whose code it mirrors. `install` checks Rasa's version and every digest before it replaces
anything, and refuses (`PatchRefused`, naming the patch) on any difference: after a Rasa
update, a patch is re-read against the new code and its digest renewed, or it is switched off.

`HELPDESK_RASA_PATCHES_OFF` names patches not to install (comma-separated; `speed-ups` for
every speed-up, `all` for every patch): to measure what each one earns (docs/performance.md),
or to start on a Rasa release a patch has not been checked against. An unknown name is
refused, so a typo cannot pass for a measurement.

Each speed-up changes no result: `tests/rasa_stores/` compares each with the code it replaces,
and the conversation tests give the same report with and without them.
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Text, Tuple

from rasa_runtime.patches import (action_client, action_domain, action_validation,
                                  dialogue_states, frozen_model, graph_runner, parse_ahead,
                                  startup)

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
DISABLE_VARIABLE = "HELPDESK_RASA_PATCHES_OFF"


class PatchRefused(RuntimeError):
    """A patch does not fit the Rasa that is installed: the process must not start."""


@dataclass(frozen=True)
class Source:
    """A function of Rasa's, "module:Qualified.name", and the sha256 of its source."""

    target: Text
    sha256: Text


@dataclass(frozen=True)
class Replacement:
    """What takes the place of one function of Rasa's: `wrap(current)`."""

    source: Source
    wrap: Callable[[Any], Any]


@dataclass(frozen=True)
class Patch:
    name: Text
    kind: Text  # "speed-up" (measured, docs/performance.md) or "start-up" (behaviour)
    why: Text
    replaces: Tuple[Replacement, ...]
    mirrors: Tuple[Source, ...] = ()  # Rasa code the patch copies, checked as well


REQUEST = "rasa.utils.endpoints:EndpointConfig.request"
LOAD_AGENT_ON_START = "rasa.core.run:load_agent_on_start"
VALIDATE_ACTION_RESULT = "rasa.core.actions.action:RemoteAction._validate_action_result"
PAST_STATES = "rasa.shared.core.trackers:DialogueStateTracker.past_states"

# The table. Order matters where two patches replace one function: the later wraps the earlier.
PATCHES: Tuple[Patch, ...] = (
    Patch("action_validation", "speed-up",
          "an action server's answer recognised as valid by the one event schema each event "
          "names, with validators built once (Rasa re-checks its schema and tries all 23)",
          (Replacement(Source(VALIDATE_ACTION_RESULT,
                               "f8cdb4be6812396167ced74161b2ccd65c5ea676ad86d7d359d8c322d9d8dc42"),
                       action_validation.validating_known_answers),)),
    Patch("dialogue_states", "speed-up",
          "a tracker's dialogue states resumed from the last computation, not replayed from "
          "the first event for each policy",
          (Replacement(Source(PAST_STATES,
                               "5463eefb5c69d27f82cdc7eca84e23b4b82851e9a5ff575bd02447d4d987103b"),
                       dialogue_states.memoised_past_states),),
          mirrors=(Source("rasa.shared.core.domain:Domain.states_for_tracker_history",
                           "035111ce73ac90ba50e143abf556f924af07d9f452893f5a96a62895d44df8b7"),)),
    Patch("action_client", "speed-up",
          "action calls on one kept-alive HTTP session per endpoint and event loop, closed at "
          "shutdown (Rasa opens a connection per call)",
          (Replacement(Source(REQUEST,
                               "ccdb778aed8208e23cde3c3f47eac7fbbbb735dac8f7ef7254d54451c64ad608"),
                       action_client.pooled_requests),
           Replacement(Source("rasa.core.run:close_resources",
                               "bc3d36e8149e84cd906082694203f0f78bbdb09544be8753af472ff59cc284e9"),
                       action_client.closing_sessions))),
    Patch("action_domain", "speed-up",
          "the domain sent to each action server once, then its digest (rasa-sdk 3.21's "
          "protocol); call bodies encoded by ujson",
          (Replacement(Source(REQUEST,
                               "ccdb778aed8208e23cde3c3f47eac7fbbbb735dac8f7ef7254d54451c64ad608"),
                       action_domain.sending_the_domain_once),)),
    Patch("graph_runner", "speed-up",
          "parses and predictions evaluate their small graphs node by node, without dask's "
          "scheduler",
          (Replacement(Source("rasa.engine.runner.dask:DaskGraphRunner.run",
                               "45f0f52f574f3aa9546a552bf671183e171092c18b66e97f5771a7fa295de37e"),
                       graph_runner.unscheduled_run),)),
    Patch("parse_ahead", "speed-up",
          "a message's parse starts on a worker thread before Rasa takes the conversation's "
          "lock and reads its tracker",
          (Replacement(Source("rasa.core.agent:Agent.handle_message",
                               "ba53507e4d5532a38d3615aa1968deba6a8086e4fb9601b1526749b132c06308"),
                       parse_ahead.parsing_ahead),
           Replacement(Source("rasa.core.processor:MessageProcessor._handle_message_with_tracker",
                               "f42e1ae303933d9ffed67c0b879a946d68bee26ab9c991676c62d9c0f7e374d2"),
                       parse_ahead.using_the_parse_ahead)),
          mirrors=(Source("rasa.core.processor:MessageProcessor.parse_message",
                           "b98d8e49b9f2c433040af62752212dc374600d50cd21deec82386642b64d30dc"),)),
    Patch("frozen_model", "speed-up",
          "the start-up model frozen out of full garbage collections (each walked ~930,000 "
          "objects: 0.5 s stalls); any later load unfreezes first",
          (Replacement(Source(LOAD_AGENT_ON_START,
                               "b23e12447febeb64dfe0e78f545c37affae1059858280485b1094707a2704214"),
                       frozen_model.freezing_after),
           Replacement(Source("rasa.core.agent:Agent.load_model",
                               "f4c1ab4c5c7af6349384fc0a2d3a1cffdc5f277f08378d07fd0cd247cd4d5fa7"),
                       frozen_model.unfreezing_before))),
    Patch("model_required", "start-up",
          "a worker that loaded no model stops instead of serving (its GET / would say it is up)",
          (Replacement(Source(LOAD_AGENT_ON_START,
                               "b23e12447febeb64dfe0e78f545c37affae1059858280485b1094707a2704214"),
                       startup.requiring_a_model),)),
    Patch("ready_files", "start-up",
          "each worker announces its loaded model in $RASA_READY_DIR (scripts/stack.py waits "
          "for every worker)",
          (Replacement(Source(LOAD_AGENT_ON_START,
                               "b23e12447febeb64dfe0e78f545c37affae1059858280485b1094707a2704214"),
                       startup.announcing_readiness),)),
)

# The function each replaced name held before the first patch of it, by target (for the tests,
# which compare each patch with what it replaces, and for a second `install`).
ORIGINALS: Dict[Text, Any] = {}
_installed: Set[Text] = set()


def resolve(target: Text) -> Tuple[Any, Text]:
    """The object that holds `target` ("module:Qualified.name") and the attribute's name."""
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *holders, attribute = path.split(".")
    for holder in holders:
        owner = getattr(owner, holder)
    return owner, attribute


def current(target: Text) -> Any:
    owner, attribute = resolve(target)
    return getattr(owner, attribute)


def original(target: Text) -> Any:
    """Rasa's own function at `target`, whether or not a patch has replaced it."""
    return ORIGINALS.get(target, current(target))


def source_digest(function: Any) -> Text:
    return hashlib.sha256(inspect.getsource(function).encode("utf-8")).hexdigest()


def disabled(environment: Mapping[Text, Text] = os.environ) -> Set[Text]:
    """The patch names `HELPDESK_RASA_PATCHES_OFF` lists: names, `speed-ups` (every speed-up)
    or `all` (every patch; `scripts/stack.py` then waits in vain for `ready_files`)."""
    groups = {"all": {patch.name for patch in PATCHES},
              "speed-ups": {patch.name for patch in PATCHES if patch.kind == "speed-up"}}
    names: Set[Text] = set()
    for name in (name.strip() for name in environment.get(DISABLE_VARIABLE, "").split(",")):
        if name in groups:
            names |= groups[name]
        elif name:
            names.add(name)
    unknown = names - groups["all"]
    if unknown:
        raise PatchRefused(
            f"{DISABLE_VARIABLE} names no such patch: {', '.join(sorted(unknown))} "
            f"(the patches: {', '.join(patch.name for patch in PATCHES)}; or speed-ups, all)")
    return names


def check(patches: Iterable[Patch], rasa_version: Optional[Text] = None) -> None:
    """Raise PatchRefused, naming the patch, unless Rasa is the release the patches were
    written against and every function each replaces or mirrors has the source it was read in."""
    if rasa_version is None:
        import rasa

        rasa_version = rasa.__version__
    chosen = list(patches)
    if chosen and rasa_version != RASA_VERSION:
        raise PatchRefused(
            f"rasa_runtime.patches were written against Rasa {RASA_VERSION}, not "
            f"{rasa_version}: patch {chosen[0].name!r} (and {len(chosen) - 1} more) not "
            f"checked; re-read each against the new code and renew its digests, or start "
            f"with {DISABLE_VARIABLE}=all")
    for patch in chosen:
        for source in [replacement.source for replacement in patch.replaces] + list(patch.mirrors):
            digest = source_digest(original(source.target))
            if digest != source.sha256:
                raise PatchRefused(
                    f"patch {patch.name!r}: {source.target} is not the code it was written "
                    f"against (source sha256 {digest[:16]}..., expected "
                    f"{source.sha256[:16]}...): re-read rasa_runtime/patches against it and "
                    f"renew the digest, or start with {DISABLE_VARIABLE}={patch.name}")


def install(off: Optional[Iterable[Text]] = None) -> List[Text]:
    """Check, then install, every patch of the table but those `off` (by default those that
    HELPDESK_RASA_PATCHES_OFF names); idempotent. Returns the names installed now or before."""
    skipped = disabled() if off is None else set(off)
    chosen = [patch for patch in PATCHES
              if patch.name not in skipped and patch.name not in _installed]
    check(chosen)
    for patch in chosen:
        for replacement in patch.replaces:
            target = replacement.source.target
            owner, attribute = resolve(target)
            ORIGINALS.setdefault(target, getattr(owner, attribute))
            setattr(owner, attribute, replacement.wrap(getattr(owner, attribute)))
        _installed.add(patch.name)
    installed = [patch.name for patch in PATCHES if patch.name in _installed]
    if chosen:
        logger.info("rasa_runtime.patches installed: %s; off: %s", ", ".join(installed),
                    ", ".join(sorted(skipped)) or "none")
    return installed
