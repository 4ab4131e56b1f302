"""The architecture rules of pyproject.toml ([tool.importlinter]) hold, and each one fails
when a forbidden import is added: `lint-imports` runs on a copy of the packages with one
import injected."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "actions", "connectors", "rasa_runtime", "benchmarks", "signing_keys")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-logo", "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def broken_contracts(output: str) -> set[str]:
    """The names on the summary lines "<name> BROKEN" (maybe followed by "(n ignored ...)")."""
    return {line.partition(" BROKEN")[0] for line in output.splitlines()
            if " BROKEN" in line and not line.startswith("Contracts:")}


@pytest.fixture(scope="module")
def names() -> dict[str, str]:
    """Each contract's name by its id, as pyproject.toml gives them."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract["name"] for contract in config["contracts"]}


def test_the_repository_keeps_every_contract(names: dict[str, str]) -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(names)} kept, 0 broken." in result.stdout
    assert set(INJECTIONS) == set(names)  # every contract is shown to fail below


# Each contract with the imports that must break it: (file of the copy, line put at its top).
INJECTIONS = {
    "bot-without-rasa": [("bot/identity.py", "import rasa_sdk"),
                         ("bot/tickets/sla.py", "from rasa.shared.core.events import SlotSet")],
    "connectors-without-bot": [("connectors/principal.py", "from bot.identity import Principal")],
    # (an import of bot/ or Rasa from it would also break the contracts of its importers)
    "signing-keys-standalone": [("signing_keys/__init__.py", "import connectors.principal")],
    "rasa-runtime-without-bot": [("rasa_runtime/lock_store.py", "import actions.services")],
    "thin-actions": [("actions/services.py", "from bot.tickets.models import Ticket"),
                     ("actions/leave.py", "from sqlalchemy import select")],
    # bot.tickets imports bot.storage, so an import back is a cycle of two packages; and
    # within one package, a cycle of two modules
    "no-cycles": [("bot/storage/database.py", "import bot.tickets.requester"),
                  ("bot/handoff/places.py", "from bot.handoff import agent")],
}


@pytest.mark.parametrize(("contract", "module", "injected"), [
    (contract, module, line) for contract, cases in INJECTIONS.items() for module, line in cases
])
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, names: dict[str, str], contract: str, module: str, injected: str,
) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert lint_imports(tmp_path).returncode == 0  # the copy is as good as the repository
    target = tmp_path / module
    target.write_text(f"{injected}  # injected by the test\n{target.read_text()}")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout
    assert broken_contracts(result.stdout) == {names[contract]}
