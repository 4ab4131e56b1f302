"""A renderer for the subset of Kustomize that kubernetes/ uses, so that the tests need no binary.

No kustomize binary is installable from the registries this project uses (PyPI, Debian, npm:
Debian's `kubernetes-client` is kubectl 1.20, whose built-in kustomize 2.0 predates most of these
fields). This module renders `kubernetes/overlays/production` the way `kubectl apply -k` would,
for exactly the fields used there, and refuses any other field, so that the manifests cannot
start using something the tests would silently misread. Where a real kustomize is on the
machine (`kubectl kustomize`), tests/deploy/test_kubernetes.py renders with both and requires
the same objects.

Supported, as Kustomize v5 defines them:

- `resources`: YAML files (several documents each) and directories holding a kustomization;
- `namespace`: set on every namespaced object;
- `images`: `name` with `newName` and/or `newTag`, applied to containers and init containers;
- `configMapGenerator` (`literals`, `behavior: create|merge`) and `secretGenerator` (`envs`,
  type Opaque): the generated name gets Kustomize's content hash, and references to it
  (`configMapKeyRef`, `secretKeyRef`, `envFrom`, volumes) are renamed to match;
- `patches`: inline JSON 6902 patches (`add`, `replace`, `remove`, `test`) on a `target` given by
  `kind` and `name`.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ALLOWED_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images", "configMapGenerator",
                  "secretGenerator", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                  "StorageClass", "CustomResourceDefinition", "PriorityClass"}
ENV_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$")


class Unsupported(Exception):
    """The kustomization uses something this renderer does not implement."""


@dataclass
class Generated:
    """A generated ConfigMap or Secret: its object, and whether its name still needs the hash."""

    obj: dict[str, Any]
    base_name: str


@dataclass
class Rendering:
    objects: list[dict[str, Any]] = field(default_factory=list)
    generated: list[Generated] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------
# Kustomize's name hash (api/hasher/hasher.go)


def _go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it: sorted keys, no spaces, <, > and & escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _encode(hex_digest: str) -> str:
    """Kustomize's encoding of the hash: its first ten hex digits, some letters swapped so that
    the suffix cannot spell words (0→g, 1→h, 3→k, a→m, e→t)."""
    return hex_digest[:10].translate(str.maketrans({"0": "g", "1": "h", "3": "k", "a": "m", "e": "t"}))


def name_hash(obj: dict[str, Any]) -> str:
    # Kustomize v5 hashes its generated objects before they are named: the encoded "name" is
    # empty (checked against `kubectl kustomize`, kustomize v5.5.0, by the test that compares).
    name = ""
    if obj["kind"] == "ConfigMap":
        encoded = {"kind": "ConfigMap", "name": name, "data": obj.get("data", {})}
    elif obj["kind"] == "Secret":
        encoded = {"kind": "Secret", "name": name, "type": obj.get("type", "Opaque"),
                   "data": obj.get("data", {})}
    else:
        raise Unsupported(f"no name hash for {obj['kind']}")
    return _encode(hashlib.sha256(_go_json(encoded).encode("utf-8")).hexdigest())


def kustomize_base64(value: str) -> str:
    """A Secret value as Kustomize (kyaml) encodes it: base64, and from 70 characters on, cut
    into lines of 70, each ending in a newline (the API server's decoder skips newlines)."""
    encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
    if len(encoded) < 70:
        return encoded
    return "".join(encoded[i:i + 70] + "\n" for i in range(0, len(encoded), 70))


# ---------------------------------------------------------------------------------------------------
# Reading


def kustomization_file(directory: Path) -> Path:
    for name in KUSTOMIZATION_NAMES:
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"no kustomization in {directory}")


def _load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _literal(text: str) -> tuple[str, str]:
    match = ENV_LINE.match(text)
    if match is None:
        raise Unsupported(f"literal {text!r} is not KEY=VALUE")
    key, value = match[1], match[2]
    if value[:1] in ("'", '"') or value != value.strip():
        raise Unsupported(f"literal {key}: quoted or padded values are not implemented")
    return key, value


def read_env_file(path: Path) -> dict[str, str]:
    """An `envs` file: KEY=VALUE lines; blank lines and # comments skipped."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "=" not in line:  # kustomize would read the value from its own environment
            raise Unsupported(f"{path.name}: {line.split()[0]!r} has no '='")
        key, value = _literal(line)
        values[key] = value
    return values


# ---------------------------------------------------------------------------------------------------
# Rendering


def render(directory: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize DIRECTORY` gives, generated names hashed."""
    rendering = _build(Path(directory))
    renames: dict[tuple[str, str], str] = {}
    for gen in rendering.generated:
        hashed = f"{gen.base_name}-{name_hash(gen.obj)}"
        renames[(gen.obj["kind"], gen.base_name)] = hashed
        gen.obj["metadata"]["name"] = hashed
    for obj in rendering.objects:
        _rename_references(obj, renames)
    return rendering.objects


def _build(directory: Path) -> Rendering:
    spec = yaml.safe_load(kustomization_file(directory).read_text(encoding="utf-8")) or {}
    unknown = set(spec) - ALLOWED_FIELDS
    if unknown:
        raise Unsupported(f"{directory}: fields {sorted(unknown)} are not implemented")
    rendering = Rendering()
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            inner = _build(path)
            rendering.objects += inner.objects
            rendering.generated += inner.generated
        else:
            rendering.objects += _load_documents(path)
    for generator in spec.get("configMapGenerator", []):
        _generate(rendering, directory, generator, "ConfigMap")
    for generator in spec.get("secretGenerator", []):
        _generate(rendering, directory, generator, "Secret")
    for patch in spec.get("patches", []):
        _patch(rendering, patch)
    if "namespace" in spec:
        for obj in rendering.objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        _set_image(rendering, image)
    return rendering


def _generate(rendering: Rendering, directory: Path, generator: dict[str, Any], kind: str) -> None:
    unknown = set(generator) - {"name", "literals", "envs", "behavior"}
    if unknown:
        raise Unsupported(f"{kind} generator fields {sorted(unknown)}")
    values: dict[str, str] = {}
    for literal in generator.get("literals", []):
        key, value = _literal(literal)
        values[key] = value
    for env in generator.get("envs", []):
        values.update(read_env_file(directory / env))
    name = generator["name"]
    behavior = generator.get("behavior", "create")
    data = values if kind == "ConfigMap" else {
        key: kustomize_base64(value) for key, value in values.items()}
    existing = [gen for gen in rendering.generated
                if gen.obj["kind"] == kind and gen.base_name == name]
    if behavior == "merge":
        if len(existing) != 1:
            raise Unsupported(f"merge into {kind} {name}, which the bases do not generate")
        existing[0].obj.setdefault("data", {}).update(data)
        return
    if behavior != "create" or existing:
        raise Unsupported(f"{kind} {name}: behavior {behavior!r} here")
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
    if kind == "Secret":
        obj["type"] = "Opaque"
    obj["data"] = data
    rendering.objects.append(obj)
    rendering.generated.append(Generated(obj, name))


def _patch(rendering: Rendering, patch: dict[str, Any]) -> None:
    if set(patch) != {"target", "patch"} or set(patch["target"]) - {"kind", "name"}:
        raise Unsupported(f"patch form {sorted(patch)} (only inline JSON 6902 with kind/name)")
    operations = yaml.safe_load(patch["patch"])
    if not isinstance(operations, list):
        raise Unsupported("strategic-merge patches are not implemented")
    target = patch["target"]
    matched = [obj for obj in rendering.objects
               if obj["kind"] == target["kind"] and obj["metadata"]["name"] == target["name"]]
    if not matched:
        raise Unsupported(f"patch target {target} matches nothing")
    for obj in matched:
        for operation in operations:
            apply_json_patch(obj, operation)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"bad JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def apply_json_patch(document: Any, operation: dict[str, Any]) -> None:
    """One RFC 6902 operation (add, replace, remove, test), in place."""
    op, parts = operation["op"], _pointer(operation["path"])
    parent = document
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    if isinstance(parent, list):
        index = len(parent) if (op == "add" and last == "-") else int(last)
        if op == "add":
            parent.insert(index, copy.deepcopy(operation["value"]))
        elif op == "replace":
            parent[index] = copy.deepcopy(operation["value"])
        elif op == "remove":
            del parent[index]
        elif op == "test":
            if parent[index] != operation["value"]:
                raise ValueError(f"test failed at {operation['path']}")
        else:
            raise Unsupported(f"JSON patch op {op!r}")
        return
    if op in ("replace", "remove", "test") and last not in parent:
        raise KeyError(f"{operation['path']} does not exist")
    if op in ("add", "replace"):
        parent[last] = copy.deepcopy(operation["value"])
    elif op == "remove":
        del parent[last]
    elif op == "test":
        if parent[last] != operation["value"]:
            raise ValueError(f"test failed at {operation['path']}")
    else:
        raise Unsupported(f"JSON patch op {op!r}")


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a workload (Deployment, Job, ...), else None."""
    template = obj.get("spec", {}).get("template")
    if template is None and obj.get("kind") == "CronJob":
        template = obj["spec"]["jobTemplate"]["spec"]["template"]
    return None if template is None else template.get("spec")


def containers(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod_spec(obj)
    if spec is not None:
        yield from spec.get("initContainers", [])
        yield from spec.get("containers", [])


def split_image(image: str) -> tuple[str, str | None]:
    """(name, tag) of an image reference without a digest."""
    if "@" in image:
        raise Unsupported(f"digest references ({image}) are not implemented")
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return image, None
    return name, tag


def _set_image(rendering: Rendering, image: dict[str, Any]) -> None:
    if set(image) - {"name", "newName", "newTag"}:
        raise Unsupported(f"image fields {sorted(image)}")
    for obj in rendering.objects:
        for container in containers(obj):
            name, tag = split_image(container["image"])
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            tag = image.get("newTag", tag)
            container["image"] = f"{name}:{tag}" if tag else name


def _rename_references(obj: dict[str, Any], renames: dict[tuple[str, str], str]) -> None:
    spec = pod_spec(obj)
    if spec is None:
        return

    def renamed(kind: str, name: str) -> str:
        return renames.get((kind, name), name)

    for container in containers(obj):
        for env in container.get("env", []):
            source = env.get("valueFrom", {})
            if "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                ref["name"] = renamed("ConfigMap", ref["name"])
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                ref["name"] = renamed("Secret", ref["name"])
        for env_from in container.get("envFrom", []):
            if "configMapRef" in env_from:
                env_from["configMapRef"]["name"] = renamed("ConfigMap", env_from["configMapRef"]["name"])
            if "secretRef" in env_from:
                env_from["secretRef"]["name"] = renamed("Secret", env_from["secretRef"]["name"])
    for volume in spec.get("volumes", []):
        if "configMap" in volume:
            volume["configMap"]["name"] = renamed("ConfigMap", volume["configMap"]["name"])
        if "secret" in volume:
            volume["secret"]["secretName"] = renamed("Secret", volume["secret"]["secretName"])
