"""The table of `rasa_runtime.patches`: `scripts/rasa_server.py` refuses to start, naming the
patch, when Rasa is another release or a replaced function's source is not the one a patch was
written against; `HELPDESK_RASA_PATCHES_OFF` leaves named patches out; and the conversation
tests give the same report with every patch and memo as with none."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict

import pytest

from rasa.core.agent import Agent
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa_runtime import patches

from .conversations import component

ROOT = Path(__file__).resolve().parents[2]
REPLACED = {  # every name inside Rasa the table replaces
    "rasa.core.actions.action:RemoteAction._validate_action_result",
    "rasa.shared.core.trackers:DialogueStateTracker.past_states",
    "rasa.utils.endpoints:EndpointConfig.request",
    "rasa.core.run:close_resources",
    "rasa.engine.runner.dask:DaskGraphRunner.run",
    "rasa.core.agent:Agent.handle_message",
    "rasa.core.processor:MessageProcessor._handle_message_with_tracker",
    "rasa.core.run:load_agent_on_start",
    "rasa.core.agent:Agent.load_model",
}


def test_the_table_replaces_these_names_and_no_other() -> None:
    targets = {replacement.source.target
               for patch in patches.PATCHES for replacement in patch.replaces}
    assert targets == REPLACED
    assert len({patch.name for patch in patches.PATCHES}) == len(patches.PATCHES)


def test_every_digest_is_that_of_the_installed_rasa() -> None:
    patches.check(patches.PATCHES)


def test_a_digest_that_differs_refuses_naming_the_patch() -> None:
    graph_runner = next(patch for patch in patches.PATCHES if patch.name == "graph_runner")
    replacement = graph_runner.replaces[0]
    changed = dataclasses.replace(graph_runner, replaces=(dataclasses.replace(
        replacement, source=dataclasses.replace(replacement.source, sha256="0" * 64)),))
    with pytest.raises(patches.PatchRefused,
                       match="patch 'graph_runner': rasa.engine.runner.dask:DaskGraphRunner.run"
                             " is not the code it was written against"):
        patches.check([changed])


def test_a_mirrored_function_that_differs_refuses_too() -> None:
    states = next(patch for patch in patches.PATCHES if patch.name == "dialogue_states")
    changed = dataclasses.replace(states, mirrors=(dataclasses.replace(
        states.mirrors[0], sha256="0" * 64),))
    with pytest.raises(patches.PatchRefused, match="patch 'dialogue_states': .*"
                       "Domain.states_for_tracker_history"):
        patches.check([changed])


def test_another_rasa_release_is_refused() -> None:
    with pytest.raises(patches.PatchRefused, match="written against Rasa 3.6.21, not 3.6.22: "
                       "patch 'action_validation'"):
        patches.check(patches.PATCHES, rasa_version="3.6.22")
    patches.check([], rasa_version="3.6.22")  # every patch off: nothing to check


@pytest.mark.parametrize(("value", "expected"), [
    ("", set()),
    ("parse_ahead", {"parse_ahead"}),
    (" parse_ahead , graph_runner,", {"parse_ahead", "graph_runner"}),
    ("all", {patch.name for patch in patches.PATCHES}),
    ("speed-ups", {"action_validation", "dialogue_states", "action_client", "action_domain",
                   "graph_runner", "parse_ahead", "frozen_model"}),
    ("speed-ups,ready_files", {patch.name for patch in patches.PATCHES} - {"model_required"}),
])
def test_the_variable_names_the_patches_left_out(value: str, expected: set) -> None:
    assert patches.disabled({patches.DISABLE_VARIABLE: value}) == expected


def test_an_unknown_patch_name_is_refused() -> None:
    with pytest.raises(patches.PatchRefused, match="names no such patch: parse_head"):
        patches.disabled({patches.DISABLE_VARIABLE: "parse_head"})


# --- scripts/rasa_server.py in a process of its own ------------------------------------------

DRIVER = textwrap.dedent("""
    import json, runpy, sys
    import rasa, rasa.__main__
    from rasa_runtime import patches
    {prepare}
    def report():
        print(json.dumps({{"started": True, "replaced": sorted(
            target for target in {targets!r}
            if patches.current(target) is not patches.original(target))}}))
    rasa.__main__.main = report  # where `rasa run` would start serving
    try:
        runpy.run_path("scripts/rasa_server.py", run_name="__main__")
    except SystemExit as stop:
        print(json.dumps({{"started": False, "message": str(stop.code), "replaced": sorted(
            target for target in {targets!r}
            if patches.current(target).__module__.startswith("rasa_runtime"))}}))
""")


def start_server(prepare: str = "", environment: Dict[str, str] | None = None) -> Dict[str, Any]:
    code = DRIVER.format(prepare=prepare, targets=sorted(REPLACED))
    env = {name: value for name, value in os.environ.items()
           if name != patches.DISABLE_VARIABLE}
    env.update(PYTHONPATH=str(ROOT), RASA_AUTH_TOKEN="t" * 40, RASA_JWT_SECRET="j" * 40,
               TF_CPP_MIN_LOG_LEVEL="3", **(environment or {}))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_server_starts_with_every_patch_installed() -> None:
    started = start_server()
    assert started == {"started": True, "replaced": sorted(REPLACED)}


def test_a_changed_rasa_function_stops_the_server_before_anything_is_patched(
        tmp_path: Path) -> None:
    """As after a Rasa update that changed `Agent.handle_message`: a function of other source
    in its place."""
    (tmp_path / "newer_rasa.py").write_text(
        "async def handle_message(self, message):\n"
        "    return await self.processor.handle_message(message)  # changed\n")
    started = start_server(prepare=textwrap.dedent(f"""
        sys.path.insert(0, {str(tmp_path)!r})
        import newer_rasa
        from rasa.core.agent import Agent
        Agent.handle_message = newer_rasa.handle_message
    """))
    assert not started["started"]
    assert started["message"].startswith(
        "error: patch 'parse_ahead': rasa.core.agent:Agent.handle_message is not the code it "
        "was written against")
    assert "HELPDESK_RASA_PATCHES_OFF=parse_ahead" in started["message"]
    assert started["replaced"] == []  # refused before anything was replaced


def test_another_rasa_version_stops_the_server() -> None:
    started = start_server(prepare="rasa.__version__ = '3.7.0'")
    assert not started["started"]
    assert "written against Rasa 3.6.21, not 3.7.0" in started["message"]
    assert started["replaced"] == []


def test_named_patches_are_left_out() -> None:
    started = start_server(environment={patches.DISABLE_VARIABLE: "parse_ahead,graph_runner"})
    assert started["started"]
    assert set(started["replaced"]) == REPLACED - {
        "rasa.core.agent:Agent.handle_message",
        "rasa.core.processor:MessageProcessor._handle_message_with_tracker",
        "rasa.engine.runner.dask:DaskGraphRunner.run"}


def test_all_off_replaces_nothing() -> None:
    started = start_server(environment={patches.DISABLE_VARIABLE: "all"})
    assert started == {"started": True, "replaced": []}


def test_speed_ups_off_keeps_the_start_up_patches() -> None:
    started = start_server(environment={patches.DISABLE_VARIABLE: "speed-ups"})
    assert started == {"started": True, "replaced": ["rasa.core.run:load_agent_on_start"]}


# --- the conversation tests, with and without --------------------------------------------------


async def test_the_conversation_tests_give_what_they_give_without_patches_or_memos(
    agent: Agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stories of `make conversations` (rasa test core --e2e), with every patch installed
    and the policies' memos on, then with Rasa's own functions back in place and the memos
    off: the same report, action by action and story by story."""
    from rasa.core.test import test as test_core

    async def report(out: str) -> Dict[str, Any]:
        (tmp_path / out).mkdir()
        result = await test_core(str(ROOT / "tests" / "conversations"), agent, e2e=True,
                                 out_directory=str(tmp_path / out), disable_plotting=True,
                                 errors=True, warnings=False)
        failed = (tmp_path / out / "failed_test_stories.yml")
        return {"report": result["report"], "accuracy": result["accuracy"],
                # each predicted action with its policy and confidence (stories in any order)
                "actions": sorted(json.dumps(action, sort_keys=True)
                                  for action in result["actions"]),
                "failed": failed.read_text() if failed.exists() else ""}

    patches.install()
    assert patches.ORIGINALS.keys() == REPLACED
    patched = await report("patched")
    for target, original in patches.ORIGINALS.items():
        owner, attribute = patches.resolve(target)
        monkeypatch.setattr(owner, attribute, original)
    monkeypatch.setattr(component(agent, TEDPolicy), "predictions", None)
    monkeypatch.setattr(component(agent, RulePolicy), "rule_tables", None)
    assert patched == await report("stock")
