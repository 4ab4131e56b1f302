"""Count how far the Rasa runtime code leans on Rasa's internals (issue 22): the names inside
Rasa it replaces, and the private members of Rasa it reads. Run with the Rasa runtime's Python:

    .venv/rasa/bin/python scripts/count_rasa_patches.py [--root CHECKOUT] [--json]

`--root` counts another checkout (another branch's worktree, say) the same way, so a change
can be counted before and after.

Replaced names are measured, not read from the code: a child process imports Rasa's modules,
notes every attribute of every Rasa module and of every class defined in one, then runs the
checkout's `scripts/rasa_server.py` up to the moment it would hand over to `rasa run` (which is
replaced by the count) and lists each attribute that is no longer the same object. A name
replaced several times counts once.

Private members are read from the source of `rasa_runtime/` and `scripts/rasa_server.py`: a
name `_x` (not `__x__`) that Rasa defines (a function, class, or attribute assigned in Rasa's
own source), used as

- `obj._x` anywhere but on `self`/`cls` of a class of ours with no Rasa base class (those are
  our own members);
- `self._x` or `def _x` in a class that subclasses a Rasa class, when one of the Rasa classes
  it inherits from defines `_x` (an override or a use of Rasa's private member);
- `from rasa... import _x`.

Each distinct name counts once; `--json` lists where each is used. The count is also split
between the extensions Rasa supports (modules named in the checkout's endpoints.yml or
config.yml: stores, broker, policies) and the rest (the patches).
"""
from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import os
import pkgutil
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
# The Rasa packages whose modules are noted before the patches are installed (all of the
# runtime's message path is under these).
NOTED_PACKAGES = ("rasa.core", "rasa.shared.core", "rasa.engine", "rasa.utils", "rasa.nlu")


# --- replaced names (measured in a child process) -------------------------------------------


def _import_everything() -> None:
    import rasa

    for package_name in NOTED_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, package_name + "."):
            if ".test" in module.name:
                continue
            try:
                importlib.import_module(module.name)
            except Exception:  # an optional dependency this runtime does not have
                continue
    importlib.import_module("rasa.__main__")
    assert rasa.__version__


def _snapshot() -> Dict[Tuple[str, ...], int]:
    noted: Dict[Tuple[str, ...], int] = {}
    for name, module in list(sys.modules.items()):
        if not (name == "rasa" or name.startswith("rasa.")) or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            noted[(name, attribute)] = id(value)
            if inspect.isclass(value) and value.__module__ == name:
                for member, inner in list(vars(value).items()):
                    noted[(name, attribute, member)] = id(inner)
    return noted


def measure_replaced(root: Path) -> List[str]:
    """In this (child) process: the Rasa names the checkout's rasa_server.py replaces."""
    sys.path.insert(0, str(root))
    os.chdir(root)
    for secret in ("RASA_AUTH_TOKEN", "RASA_JWT_SECRET"):
        os.environ[secret] = "x" * 40
    _import_everything()
    before = _snapshot()
    kept = {key: value for key, value in before.items()}  # ids stay valid: objects live on

    import rasa.__main__

    handed_over = []
    rasa.__main__.main = lambda: handed_over.append(True)  # where `rasa run` would start
    spec = importlib.util.spec_from_file_location("rasa_server", root / "scripts" / "rasa_server.py")
    server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server)
    server.main()
    if not handed_over:
        raise SystemExit("scripts/rasa_server.py did not reach `rasa run`")
    after = _snapshot()
    replaced = sorted(".".join(key) for key, value in kept.items()
                      if key in after and after[key] != value
                      and key[-1] != "main" and key[-1] not in ("__annotations__",))
    # new attributes put on Rasa's modules or classes count too
    replaced += sorted(".".join(key) for key in after.keys() - kept.keys()
                       if not key[-1].startswith("__"))
    return sorted(set(replaced))


# --- private members (read from the source) ------------------------------------------------


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def rasa_private_names() -> Set[str]:
    """Every private name Rasa's own source defines or assigns as an attribute."""
    import rasa

    names: Set[str] = set()
    for path in Path(rasa.__file__).parent.rglob("*.py"):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                candidate = node.name
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                candidate = node.attr
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                candidate = node.id
            else:
                continue
            if _is_private(candidate):
                names.add(candidate)
    return names


def _rasa_classes_defining(bases: Iterable[type], name: str) -> bool:
    for base in bases:
        for cls in inspect.getmro(base):
            if not cls.__module__.startswith("rasa."):
                continue
            if name in vars(cls):
                return True
            try:
                source = inspect.getsource(cls)
            except (OSError, TypeError):
                continue
            if f"self.{name} =" in source or f"self.{name}:" in source:
                return True
    return False


@dataclass
class _Scope:
    rasa_bases: Optional[List[type]]  # None outside a class; [] in a class of ours only


@dataclass
class PrivateUse:
    uses: Dict[str, Set[str]] = field(default_factory=dict)

    def add(self, name: str, where: str) -> None:
        self.uses.setdefault(name, set()).add(where)


def _module_name(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts)


def _resolve_bases(node: ast.ClassDef, module: Any) -> List[type]:
    cls = getattr(module, node.name, None) if module is not None else None
    if not inspect.isclass(cls):
        return []
    return [base for base in cls.__mro__[1:] if base.__module__.startswith("rasa.")]


def count_private(root: Path, files: List[Path]) -> PrivateUse:
    defined = rasa_private_names()
    found = PrivateUse()
    sys.path.insert(0, str(root))
    for path in files:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        module = None
        if path.parent.name != "scripts":
            try:
                module = importlib.import_module(_module_name(path, root))
            except Exception:
                module = None
        where = str(path.relative_to(root))
        _walk(tree, _Scope(None), module, defined, found, where)
    return found


def _walk(node: ast.AST, scope: _Scope, module: Any, defined: Set[str], found: PrivateUse,
          where: str) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef):
            bases = _resolve_bases(child, module)
            inner = _Scope(bases)
            for item in child.body:
                if (isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                        and _is_private(item.name) and bases
                        and _rasa_classes_defining(bases, item.name)):
                    found.add(item.name, f"{where}: {child.name}.{item.name} (override)")
            _walk(child, inner, module, defined, found, where)
            continue
        if isinstance(child, ast.ImportFrom) and (child.module or "").startswith("rasa"):
            for alias in child.names:
                if _is_private(alias.name):
                    found.add(alias.name, f"{where}: from {child.module} import {alias.name}")
        if isinstance(child, ast.Attribute) and _is_private(child.attr) and child.attr in defined:
            on_self = isinstance(child.value, ast.Name) and child.value.id in ("self", "cls")
            if on_self and scope.rasa_bases is not None:
                if scope.rasa_bases and _rasa_classes_defining(scope.rasa_bases, child.attr):
                    found.add(child.attr, f"{where}: self.{child.attr}")
            else:
                found.add(child.attr, f"{where}: .{child.attr}")
        _walk(child, scope, module, defined, found, where)


def configured_modules(root: Path) -> Set[str]:
    """The rasa_runtime modules Rasa's own configuration names (endpoints.yml, config.yml)."""
    named: Set[str] = set()
    for config in ("endpoints.yml", "config.yml"):
        path = root / config
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        for reference in re.findall(r"rasa_runtime(?:\.\w+)+", text):
            parts = reference.split(".")
            for end in range(len(parts), 1, -1):  # the longest prefix that is a module file
                if (root / Path(*parts[:end])).with_suffix(".py").exists():
                    named.add(".".join(parts[:end]))
                    break
    return named


def split(root: Path, private: Dict[str, Set[str]]) -> Tuple[Set[str], Set[str]]:
    """The private names read by configured modules, and by the rest."""
    configured = {str(Path(*name.split(".")).with_suffix(".py"))
                  for name in configured_modules(root)}
    supported, patched = set(), set()
    for name, uses in private.items():
        for use in uses:
            (supported if use.partition(":")[0] in configured else patched).add(name)
    return supported, patched


def runtime_files(root: Path) -> List[Path]:
    return sorted((root / "rasa_runtime").rglob("*.py")) + [root / "scripts" / "rasa_server.py"]


def main() -> None:
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to count")
    parser.add_argument("--json", action="store_true", help="the lists, as JSON")
    parser.add_argument("--replaced-only", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    root = arguments.root.resolve()
    if arguments.replaced_only:  # the child process
        print(json.dumps(measure_replaced(root)))
        return
    environment = {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "3"}
    child = subprocess.run(
        [sys.executable, __file__, "--root", str(root), "--replaced-only"],
        capture_output=True, text=True, env=environment, check=False)
    if child.returncode != 0:
        raise SystemExit(f"measuring the replaced names failed:\n{child.stderr[-3000:]}")
    replaced = json.loads(child.stdout.strip().splitlines()[-1])
    private = count_private(root, runtime_files(root)).uses
    supported, patched = split(root, private)
    if arguments.json:
        print(json.dumps({"replaced_names": replaced,
                          "private_members_by_configured_extensions": sorted(supported),
                          "private_members_by_the_rest": sorted(patched),
                          "private_members": {name: sorted(uses)
                                              for name, uses in sorted(private.items())}},
                         indent=2))
        return
    print(f"{root}")
    print(f"replaced Rasa names: {len(replaced)}")
    for name in replaced:
        print(f"  {name}")
    print(f"private Rasa members read: {len(private)} ({len(supported)} by the extensions "
          f"named in endpoints.yml/config.yml, {len(patched)} by the rest)")
    for name, uses in sorted(private.items()):
        print(f"  {name}: {'; '.join(sorted(uses))}")


if __name__ == "__main__":
    main()
