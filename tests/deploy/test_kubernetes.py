"""The Kubernetes manifests (kubernetes/): rendered as `kubectl apply -k` would, validated against
the Kubernetes API schemas, and checked for the properties production relies on.

Rendering: tests/deploy/kustomize.py (no kustomize binary is installable from this project's
registries); where `kubectl` is on the machine, its built-in kustomize must give the same
objects. The schemas are the ones the pinned kubernetes-validate ships (strict: an unknown field
is an error), for the oldest and newest Kubernetes versions this project claims.

docker-compose.yml is the reference: the same processes, images, commands, environment and
secrets per process (tests/deploy/test_compose.py checks compose itself).
"""
from __future__ import annotations

import copy
import math
import hashlib
import ipaddress
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from tests.deploy import kustomize
from tests.deploy.test_compose import (DUMMY_ENV, OPTIONAL_SECRETS, REQUIRED_SECRETS, ROOT,
                                       dockerfile_instructions, copy_sources, environment,
                                       interpolate, interpolate_str, load_compose)

K8S = ROOT / "kubernetes"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "production"
# The oldest Kubernetes release we claim (docs/deploy.md) and the newest the package knows.
KUBERNETES_VERSIONS = ("1.30", "1.37")
WORKLOADS = {"rasa", "action-server", "web", "ticket-worker", "insight-consumer"}
STORES = {"postgres", "redis", "rabbitmq"}  # external: not part of the manifests
AUTOSCALED = {"rasa", "action-server", "web"}
SINGLETONS = {"ticket-worker", "insight-consumer"}
# Variables a container has beyond compose's: the parts of the stores' URLs, and Rasa's worker
# count (compose leaves it at Rasa's default, 1).
HELPERS = {"POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_PASSWORD", "RABBITMQ_HOST", "RABBITMQ_PORT",
           "RABBITMQ_PASSWORD", "SANIC_WORKERS"}
SECRET_VARIABLES = set(REQUIRED_SECRETS) | OPTIONAL_SECRETS
HEARTBEAT = re.compile(r"os\.path\.getmtime\('([^']+)'\)\s*>\s*(\d+)")
REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


# ---------------------------------------------------------------------------------------------------
# Rendering


def secret_value(key: str) -> str:
    """A stand-in secret: 64 hex characters, like `openssl rand -hex 32` (long enough that
    Kustomize cuts its base64 into lines, which the comparison with kubectl then covers)."""
    return hashlib.sha256(key.encode()).hexdigest()


def write_secret_files(overlay: Path) -> None:
    """The secrets/*.env files an operator makes, from the committed *.env.example files."""
    for example in sorted((overlay / "secrets").glob("*.env.example")):
        lines = []
        for line in example.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                key = line.split("=", 1)[0]
                lines.append(f"{key}={secret_value(key)}")
        example.with_name(example.name.removesuffix(".example")).write_text(
            "\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of kubernetes/ with secret files made, as on the deploying machine."""
    copied = tmp_path_factory.mktemp("k8s") / "kubernetes"
    shutil.copytree(K8S, copied, ignore=shutil.ignore_patterns("*.env"))
    write_secret_files(copied / "overlays" / "production")
    return copied


@pytest.fixture(scope="module")
def production(tree: Path) -> list[dict[str, Any]]:
    return kustomize.render(tree / "overlays" / "production")


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return kustomize.render(BASE)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def the_container(obj: dict[str, Any]) -> dict[str, Any]:
    found = list(kustomize.containers(obj))
    assert len(found) == 1, f"{obj['metadata']['name']}: one container expected"
    return found[0]


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    return obj["spec"]["template"]["metadata"]["labels"]


def workloads(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {**by_kind(objects, "Deployment"), **by_kind(objects, "Job")}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against labels."""
    if set(selector) - {"matchLabels", "matchExpressions"}:
        raise ValueError(f"unknown selector fields {sorted(selector)}")
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def resolved_environment(container: dict[str, Any], objects: list[dict[str, Any]],
                         secret: Any) -> dict[str, str]:
    """The environment the kubelet gives the container: ConfigMap values from `objects`,
    secrets from `secret(key)`, `$(NAME)` references expanded in order."""
    config_maps = by_kind(objects, "ConfigMap")
    env: dict[str, str] = {}
    for entry in container.get("env", []):
        if "value" in entry:
            value = REFERENCE.sub(lambda m: env.get(m[1], m[0]), entry["value"])
        elif "configMapKeyRef" in entry["valueFrom"]:
            ref = entry["valueFrom"]["configMapKeyRef"]
            value = config_maps[ref["name"]]["data"][ref["key"]]
        else:
            value = secret(entry["valueFrom"]["secretKeyRef"]["key"])
        env[entry["name"]] = value
    return env


def compose_secret(key: str) -> str:
    """What docker-compose.yml's tests give a secret variable: a dummy, or empty if optional."""
    return DUMMY_ENV.get(key, "")


# ---------------------------------------------------------------------------------------------------
# The renderer


def test_the_renderer_matches_kustomize_where_kubectl_is_installed(tree: Path,
                                                                  production: list[dict]) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed here: the comparison with kustomize itself did not "
                    "run (the renderer's own checks below still did)")
    result = subprocess.run([kubectl, "kustomize", str(tree / "overlays" / "production")],
                            capture_output=True, text=True, timeout=120, check=True)
    theirs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    def key(obj: dict[str, Any]) -> tuple[str, str, str]:
        return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]

    assert {key(o): o for o in production} == {key(o): o for o in theirs}


def test_the_name_hash_is_kustomizes() -> None:
    """Values `kubectl kustomize` (kustomize v5.5.0) gave for a one-key ConfigMap and Secret."""
    config_map = {"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}
    assert kustomize.name_hash(config_map) == "bdg947hgcc"
    assert kustomize.kustomize_base64("x" * 60).count("\n") == 2  # 80 characters: 70 + 10


@pytest.mark.parametrize("field", ["commonLabels", "replicas", "patchesStrategicMerge"])
def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path, field: str) -> None:
    shutil.copytree(BASE, tmp_path / "base")
    path = tmp_path / "base" / "kustomization.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec[field] = {"x": "y"} if field == "commonLabels" else []
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(kustomize.Unsupported):
        kustomize.render(tmp_path / "base")


def test_the_overlay_secret_files_are_not_committed() -> None:
    ignored = (OVERLAY / "secrets" / ".gitignore").read_text(encoding="utf-8").split()
    assert "*.env" in ignored
    # What git would commit there: tracked files and untracked ones it does not ignore.
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others",
                              "--exclude-standard", str(OVERLAY / "secrets")],
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked and not [name for name in tracked if name.endswith(".env")], tracked
    for example in (OVERLAY / "secrets").glob("*.env.example"):  # keys only, never a value
        for line in example.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                assert line.endswith("="), f"{example.name}: {line.split('=')[0]} has a value"


# ---------------------------------------------------------------------------------------------------
# Schemas


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_against_the_kubernetes_schemas(production: list[dict],
                                                               version: str) -> None:
    assert len(production) > 30
    errors = []
    for obj in production:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except Exception as error:  # a missing schema is a failure too, not a warning
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: "
                          f"{getattr(error, 'message', error)}")
    assert errors == []


def test_every_base_file_validates_on_its_own() -> None:
    for path in sorted(BASE.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for obj in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            kubernetes_validate.validate(obj, KUBERNETES_VERSIONS[-1], strict=True)


@pytest.mark.parametrize(("what", "break_it"), [
    ("a misspelt container field", lambda d: the_container(d).__setitem__("imagee", "x")),
    ("a probe port that is a list", lambda d: the_container(d)["readinessProbe"]["httpGet"]
     .__setitem__("port", [5005])),
    ("replicas as text", lambda d: d["spec"].__setitem__("replicas", "two")),
    ("an unknown top-level field", lambda d: d.__setitem__("specs", {})),
])
def test_the_schemas_refuse_a_broken_copy(production: list[dict], what: str, break_it: Any) -> None:
    """The validator is live: the Rasa Deployment, broken in one place, must not validate."""
    broken = copy.deepcopy(by_kind(production, "Deployment")["rasa"])
    break_it(broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


# ---------------------------------------------------------------------------------------------------
# The same topology as docker-compose.yml


def test_the_workloads_are_composes_processes(production: list[dict]) -> None:
    compose = load_compose()["services"]
    long_running = {name for name, svc in compose.items() if svc.get("restart") != "no"}
    assert set(by_kind(production, "Deployment")) == WORKLOADS == long_running - STORES
    assert set(by_kind(production, "Job")) == {"migrate"}
    assert not {"StatefulSet", "PersistentVolumeClaim"} & {o["kind"] for o in production}


def test_images_and_commands_match_compose(base: list[dict], production: list[dict]) -> None:
    compose = load_compose()["services"]
    tags = set()
    for name, obj in workloads(base).items():
        container = the_container(obj)
        assert container["command"] == compose[name]["command"], name
        assert container["image"] == interpolate_str(compose[name]["image"], {}), name
        repository, _ = kustomize.split_image(container["image"])
        deployed, tag = kustomize.split_image(the_container(workloads(production)[name])["image"])
        assert deployed.endswith("/" + repository) and tag not in (None, "dev", "latest"), name
        tags.add(tag)
    assert len(tags) == 1, f"the two images of one release carry one tag: {tags}"


@pytest.mark.parametrize("name", sorted(WORKLOADS | {"migrate"}))
def test_each_environment_is_composes(base: list[dict], name: str) -> None:
    """Same variables, same values (secrets, store names and URLs included), and the only
    additions the parts the URLs are built from."""
    compose = environment(interpolate(load_compose(), DUMMY_ENV)["services"][name])
    ours = resolved_environment(the_container(workloads(base)[name]), base, compose_secret)
    assert {key: ours.get(key) for key in compose} == compose
    assert set(ours) - set(compose) <= HELPERS


@pytest.mark.parametrize("name", sorted(WORKLOADS | {"migrate"}))
def test_each_process_is_given_only_the_secrets_compose_gives_it(base: list[dict], name: str) -> None:
    raw = load_compose()["services"][name]
    in_compose = {variable for text in environment(raw).values() if text
                  for variable in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text)} & SECRET_VARIABLES
    container = the_container(workloads(base)[name])
    ours = {entry["valueFrom"]["secretKeyRef"]["key"] for entry in container.get("env", [])
            if "secretKeyRef" in entry.get("valueFrom", {})}
    assert ours == in_compose
    assert "envFrom" not in container, "whole Secrets handed over: name each key instead"


def test_every_secret_and_config_reference_exists(production: list[dict]) -> None:
    secrets, config_maps = by_kind(production, "Secret"), by_kind(production, "ConfigMap")
    used: set[tuple[str, str]] = set()
    for name, obj in workloads(production).items():
        for entry in the_container(obj).get("env", []):
            source = entry.get("valueFrom", {})
            for kind, store, ref_name in (("secretKeyRef", secrets, "Secret"),
                                          ("configMapKeyRef", config_maps, "ConfigMap")):
                if kind in source:
                    ref = source[kind]
                    assert not ref.get("optional"), f"{name}: {ref['key']} may be missing"
                    assert ref["name"] in store, f"{name}: no {ref_name} {ref['name']}"
                    assert ref["key"] in store[ref["name"]]["data"], f"{name}: {ref}"
                    used.add((ref["name"], ref["key"]))
    made = {(secret, key) for secret, obj in secrets.items() for key in obj["data"]}
    assert made <= used, f"secrets nobody uses: {sorted(made - used)}"
    assert {key for _, key in made} == SECRET_VARIABLES


def test_no_secret_is_written_in_a_manifest(base: list[dict]) -> None:
    secret_named = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$")
    for name, obj in workloads(base).items():
        for entry in the_container(obj).get("env", []):
            if secret_named.search(entry["name"]):
                assert "secretKeyRef" in entry.get("valueFrom", {}), f"{name}: {entry['name']}"
            for variable in SECRET_VARIABLES:  # a URL holds a secret only by reference
                assert f":{variable}@" not in entry.get("value", "")


def test_every_reference_to_a_variable_comes_after_it(production: list[dict]) -> None:
    """The kubelet expands `$(NAME)` only for variables defined earlier in the list; anything
    else stays in the value as it is (a database URL with a literal "$(POSTGRES_PASSWORD)")."""
    for name, obj in workloads(production).items():
        defined: set[str] = set()
        for entry in the_container(obj).get("env", []):
            for variable in REFERENCE.findall(entry.get("value", "")):
                assert variable in defined, f"{name}: {entry['name']} uses $({variable}) first"
            defined.add(entry["name"])


def test_urls_between_processes_name_a_service_port(production: list[dict]) -> None:
    services = by_kind(production, "Service")
    deployments = by_kind(production, "Deployment")
    for service in services.values():  # each Service reaches a named port of one Deployment
        targets = [d for d in deployments.values() if selects({"matchLabels": service["spec"]["selector"]},
                                                               pod_labels(d))]
        assert len(targets) == 1, service["metadata"]["name"]
        names = {port["name"] for port in the_container(targets[0])["ports"]}
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= names
    for name, obj in workloads(production).items():
        for entry in the_container(obj).get("env", []):
            value = entry.get("value", "")
            if value.startswith("http://"):
                url = urlsplit(value)
                assert url.hostname in services, f"{name}: {value}"
                assert url.port in {p["port"] for p in services[url.hostname]["spec"]["ports"]}


# ---------------------------------------------------------------------------------------------------
# Probes, resources, availability


def listening_port(name: str, container: dict[str, Any], env: dict[str, str]) -> int | None:
    """The port the process itself listens on, from its command or its settings."""
    command = container["command"]
    if "--port" in command:
        return int(command[command.index("--port") + 1])
    for variable in ("RASA_PORT", "WEB_PORT"):
        if variable in env:
            return int(env[variable])
    return None


def heartbeat_of(command: list[str]) -> str | None:
    return command[command.index("--heartbeat") + 1] if "--heartbeat" in command else None


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_probes_point_at_what_the_container_exposes(production: list[dict], name: str) -> None:
    obj = by_kind(production, "Deployment")[name]
    container = the_container(obj)
    env = resolved_environment(container, production, secret_value)
    ports = {port["name"]: port["containerPort"] for port in container.get("ports", [])}
    listening = listening_port(name, container, env)
    if listening is not None:
        assert ports.get("http") == listening, f"{name} listens on {listening}"
    mounts = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container.get(kind)
        assert probe, f"{name} has no {kind}"
        action = probe.get("httpGet") or probe.get("tcpSocket")
        if action is not None:
            port = action["port"]
            assert port in ports or port in ports.values(), f"{name} {kind}: port {port}"
            continue
        script = " ".join(probe["exec"]["command"])
        match = HEARTBEAT.search(script)
        assert match, f"{name} {kind}: an exec probe reads a heartbeat file's age"
        path = match[1]
        assert path == heartbeat_of(container["command"]), f"{name}: not the file it touches"
        assert any(path.startswith(mount.rstrip("/") + "/") for mount in mounts), \
            f"{name}: {path} is not on a writable volume"


def test_the_probes_use_each_process_health_endpoint(production: list[dict]) -> None:
    deployments = by_kind(production, "Deployment")

    def http_path(name: str, kind: str) -> str | None:
        action = the_container(deployments[name])[kind].get("httpGet")
        return None if action is None else action["path"]

    from rasa_sdk import endpoint  # rasa-sdk's own route, not ours
    assert '"/health"' in Path(endpoint.__file__).read_text(encoding="utf-8")
    assert 'add_get("/healthz", health.healthz)' in (ROOT / "bot/web/app.py").read_text(encoding="utf-8")
    assert {kind: http_path("rasa", kind) for kind in ("readinessProbe", "livenessProbe")} == {
        "readinessProbe": "/", "livenessProbe": "/"}  # the port opens once the model is loaded
    assert http_path("action-server", "readinessProbe") == http_path("action-server", "livenessProbe") == "/health"
    assert http_path("web", "readinessProbe") == "/healthz"
    # /healthz is 503 while the database is away: liveness must not restart every web pod then.
    assert http_path("web", "livenessProbe") is None
    for name in SINGLETONS:
        container = the_container(deployments[name])
        ready = HEARTBEAT.search(" ".join(container["readinessProbe"]["exec"]["command"]))
        alive = HEARTBEAT.search(" ".join(container["livenessProbe"]["exec"]["command"]))
        interval = float(container["command"][container["command"].index("--interval") + 1])
        assert ready and alive and interval * 3 <= int(ready[2]) <= int(alive[2]), name


@pytest.mark.parametrize("name", sorted(WORKLOADS | {"migrate"}))
def test_requests_and_limits(production: list[dict], name: str) -> None:
    resources = the_container(workloads(production)[name])["resources"]
    for resource in ("cpu", "memory"):
        request = quantity(resources["requests"][resource])
        limit = quantity(resources["limits"][resource])
        assert 0 < request <= limit, f"{name} {resource}"


def quantity(text: str | int) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?", str(text))
    assert match, text
    return float(match[1]) * units.get(match[2] or "", 1)


def test_each_deployment_has_one_disruption_budget(production: list[dict]) -> None:
    budgets = by_kind(production, "PodDisruptionBudget")
    for name, obj in by_kind(production, "Deployment").items():
        matching = [b for b in budgets.values() if selects(b["spec"]["selector"], pod_labels(obj))]
        assert len(matching) == 1, f"{name}: {len(matching)} budgets"
        assert matching[0]["spec"] == {**matching[0]["spec"], "maxUnavailable": 1}, name
        assert selects(obj["spec"]["selector"], pod_labels(obj))
    assert len(budgets) == len(by_kind(production, "Deployment"))


def test_autoscaling_on_cpu_where_replicas_are_interchangeable(production: list[dict]) -> None:
    deployments = by_kind(production, "Deployment")
    scalers = by_kind(production, "HorizontalPodAutoscaler")
    targets = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in scalers.values()}
    assert set(targets) == AUTOSCALED
    for name, hpa in targets.items():
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                                 "name": name}
        # Two at least, so that the budget's one disruption leaves one serving.
        assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], name
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"
        assert "replicas" not in deployments[name]["spec"], f"{name}: the autoscaler owns replicas"
        assert deployments[name]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    for name in SINGLETONS:  # never two at once, not even during a rollout
        assert deployments[name]["spec"]["replicas"] == 1
        assert deployments[name]["spec"]["strategy"] == {"type": "Recreate"}


def test_the_web_app_believes_forwarded_addresses_from_the_ingress_controller_only(
        production: list[dict]) -> None:
    """Behind an ingress controller every request's peer is one of its pods: unless their
    network is trusted, the sign-in throttle counts everyone as one address; trusting every
    address would let a client choose the address it is counted as."""
    from bot.config import Settings

    env = resolved_environment(the_container(by_kind(production, "Deployment")["web"]),
                               production, secret_value)
    proxies = Settings.from_env(env).trusted_proxies  # raises on anything not an address
    assert proxies, "WEB_TRUSTED_PROXIES is empty in production"
    for entry in proxies:
        assert ipaddress.ip_network(entry).is_private, entry


def test_rasa_runs_one_worker_per_pod_on_the_shared_stores(production: list[dict]) -> None:
    env = resolved_environment(the_container(by_kind(production, "Deployment")["rasa"]),
                               production, secret_value)
    assert env["SANIC_WORKERS"] == "1"
    assert env["LOCK_STORE_TYPE"] == "redis"  # replicas on several nodes share the locks
    assert env["TRACKER_STORE_URL"].startswith("postgresql://")


# ---------------------------------------------------------------------------------------------------
# Hardening


def image_user(image: str) -> int:
    """The uid the image's Dockerfile creates for its USER."""
    dockerfile = {"helpdesk/rasa": "rasa.Dockerfile", "helpdesk/services": "services.Dockerfile"}[
        kustomize.split_image(image)[0]]
    runs = " ".join(args for keyword, args in dockerfile_instructions(ROOT / "docker" / dockerfile)
                    if keyword == "RUN")
    return int(re.search(r"useradd [^&]*--uid (\d+)", runs)[1])


@pytest.mark.parametrize("name", sorted(WORKLOADS | {"migrate"}))
def test_non_root_read_only_and_no_privileges(base: list[dict], name: str) -> None:
    obj = workloads(base)[name]
    spec = kustomize.pod_spec(obj)
    container = the_container(obj)
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["runAsUser"] == image_user(container["image"]) != 0
    assert spec["automountServiceAccountToken"] is False
    own = container["securityContext"]
    assert own["allowPrivilegeEscalation"] is False and own["privileged"] is False
    assert own["capabilities"] == {"drop": ["ALL"]}
    assert own["readOnlyRootFilesystem"] is True
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):  # writable scratch space only
        assert set(volumes[mount["name"]]) == {"name", "emptyDir"}, mount
        assert volumes[mount["name"]]["emptyDir"].get("sizeLimit"), mount
    assert "/tmp" in {mount["mountPath"] for mount in container.get("volumeMounts", [])}


def test_the_namespace_enforces_the_restricted_pod_security_profile(production: list[dict]) -> None:
    (namespace,) = by_kind(production, "Namespace").values()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {o["metadata"].get("namespace") for o in production if o["kind"] != "Namespace"} == {
        namespace["metadata"]["name"]}


# ---------------------------------------------------------------------------------------------------
# Network policies


def policies(objects: list[dict]) -> dict[str, dict[str, Any]]:
    return by_kind(objects, "NetworkPolicy")


def applies(policy: dict[str, Any], labels: dict[str, str], direction: str) -> bool:
    return direction in policy["spec"]["policyTypes"] and selects(policy["spec"]["podSelector"], labels)


def peer_pods(peers: list[dict[str, Any]], objects: list[dict]) -> Iterator[str]:
    """The workloads of this namespace a rule's peers select (peers in other namespaces or
    ipBlocks are not workloads)."""
    for peer in peers:
        if set(peer) == {"podSelector"}:
            for name, obj in workloads(objects).items():
                if selects(peer["podSelector"], pod_labels(obj)):
                    yield name


def allowed_edges(objects: list[dict]) -> set[tuple[str, str, int]]:
    """(from, to, port) between workloads that both sides' policies allow."""
    every = workloads(objects)
    egress: set[tuple[str, str, int]] = set()
    ingress: set[tuple[str, str, int]] = set()
    for policy in policies(objects).values():
        for name, obj in every.items():
            if applies(policy, pod_labels(obj), "Egress"):
                for rule in policy["spec"].get("egress", []):
                    for peer in peer_pods(rule.get("to", []), objects):
                        egress |= {(name, peer, p["port"]) for p in rule["ports"]}
            if applies(policy, pod_labels(obj), "Ingress"):
                for rule in policy["spec"].get("ingress", []):
                    for peer in peer_pods(rule.get("from", []), objects):
                        ingress |= {(peer, name, p["port"]) for p in rule["ports"]}
    return egress & ingress


def test_everything_is_denied_unless_allowed(production: list[dict]) -> None:
    deny = [p for p in policies(production).values()
            if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"] and "egress" not in p["spec"]]
    assert len(deny) == 1 and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    for policy in policies(production).values():
        for rule in policy["spec"].get("ingress", []) + policy["spec"].get("egress", []):
            assert rule.get("ports"), f"{policy['metadata']['name']}: a rule open on every port"
            assert rule.get("from", rule.get("to")), f"{policy['metadata']['name']}: a rule open to all"


def test_each_policy_selects_a_workload(production: list[dict]) -> None:
    for name, policy in policies(production).items():
        assert any(selects(policy["spec"]["podSelector"], pod_labels(obj))
                   for obj in workloads(production).values()), name
        for rule in policy["spec"].get("ingress", []) + policy["spec"].get("egress", []):
            for peer in rule.get("from", rule.get("to", [])):
                if set(peer) == {"podSelector"}:
                    assert list(peer_pods([peer], production)), f"{name}: {peer} selects nothing"


def test_the_paths_between_processes_are_exactly_the_designs(production: list[dict]) -> None:
    assert allowed_edges(production) == {
        ("web", "rasa", 5005),            # messages, Teams/Slack relays, the console's deliveries
        ("ticket-worker", "rasa", 5005),  # ticket notifications through the relay channel
        ("action-server", "rasa", 5005),  # records notifications through the relay channel
        ("rasa", "action-server", 5055),  # action calls
        ("rasa", "web", 8080),            # widget pushes (agent replies, queue updates)
    }


def test_the_web_app_is_the_only_way_in(production: list[dict]) -> None:
    entry_points = set()
    for policy in policies(production).values():
        for rule in policy["spec"].get("ingress", []):
            for peer in rule["from"]:
                if "namespaceSelector" in peer:
                    selected = [n for n, o in workloads(production).items()
                                if applies(policy, pod_labels(o), "Ingress")]
                    entry_points |= {(n, container_port(workloads(production)[n], p["port"]))
                                     for n in selected for p in rule["ports"]}
    metrics = {(name, int(port)) for name, port in metrics_ports(production).items()}
    assert entry_points - metrics == {("web", 8080)}


def container_port(obj: dict[str, Any], port: int | str) -> int | None:
    """A policy's port on this workload's pod: a number, or the number of the named port."""
    if isinstance(port, int):
        return port
    return {p["name"]: p["containerPort"] for p in the_container(obj).get("ports", [])}.get(port)


def stores_used(env: dict[str, str]) -> set[str]:
    used = set()
    if any(k in env for k in ("HELPDESK_DATABASE_URL", "TRACKER_STORE_URL")):
        used.add("POSTGRES")
    if env.get("LOCK_STORE_TYPE") == "redis":
        used.add("REDIS")
    if env.get("EVENT_BROKER_URL", "").startswith("amqp"):
        used.add("RABBITMQ")
    return used


def test_each_process_reaches_exactly_the_stores_it_uses(tree: Path, production: list[dict]) -> None:
    (stores,) = [cm for name, cm in by_kind(production, "ConfigMap").items()
                 if name.startswith("helpdesk-stores-")]
    port_of = {int(stores["data"][f"{store}_PORT"]): store for store in ("POSTGRES", "REDIS", "RABBITMQ")}
    for name, obj in workloads(production).items():
        reached = set()
        for policy in policies(production).values():
            if applies(policy, pod_labels(obj), "Egress"):
                for rule in policy["spec"].get("egress", []):
                    if any("ipBlock" in peer for peer in rule["to"]):
                        reached |= {port_of[p["port"]] for p in rule["ports"] if p["port"] in port_of}
        env = resolved_environment(the_container(obj), production, secret_value)
        assert reached == stores_used(env), name


def test_the_production_overlay_narrows_the_stores_addresses(production: list[dict]) -> None:
    for name in ("postgres-egress", "redis-egress", "rabbitmq-egress"):
        for rule in policies(production)[name]["spec"]["egress"]:
            for peer in rule["to"]:
                network = ipaddress.ip_network(peer["ipBlock"]["cidr"])
                assert network.is_private and network.prefixlen >= 16, f"{name}: {network}"


def metrics_ports(objects: list[dict]) -> dict[str, str]:
    return {name: resolved_environment(the_container(obj), objects, secret_value)["METRICS_PORT"]
            for name, obj in by_kind(objects, "Deployment").items()
            if "METRICS_PORT" in {e["name"] for e in the_container(obj)["env"]}}


def test_metrics_ports_are_annotated_exposed_and_scrapable(production: list[dict]) -> None:
    compose = {name: environment(svc).get("METRICS_PORT")
               for name, svc in load_compose()["services"].items()}
    ports = metrics_ports(production)
    assert ports == {name: port for name, port in compose.items() if port}
    assert sorted(ports.values()) == ["9101", "9102", "9103", "9104"]
    (scrape,) = [p for p in policies(production).values() if p["metadata"]["name"] == "metrics-ingress"]
    for name, port in ports.items():
        obj = by_kind(production, "Deployment")[name]
        annotations = obj["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": port,
                               "prometheus.io/path": "/metrics"}, name
        assert {"name": "metrics", "containerPort": int(port)} in the_container(obj)["ports"]
        assert applies(scrape, pod_labels(obj), "Ingress")
        assert {container_port(obj, p["port"]) for rule in scrape["spec"]["ingress"]
                for p in rule["ports"]} == {int(port)}, name
        env = resolved_environment(the_container(obj), production, secret_value)
        assert env["METRICS_HOST"] == "0.0.0.0"  # inside the pod; the policy limits who asks


# ---------------------------------------------------------------------------------------------------
# What the commands run must be in the image


def commands() -> Iterator[tuple[str, str, list[str]]]:
    """(where, image, command) for every process of docker-compose.yml and kubernetes/base."""
    for name, service in load_compose()["services"].items():
        if "build" in service and "command" in service:
            yield f"compose {name}", service["build"]["dockerfile"], service["command"]
    for path in BASE.glob("*.yaml"):
        for obj in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            for container in kustomize.containers(obj):
                image = kustomize.split_image(container["image"])[0]
                dockerfile = {"helpdesk/rasa": "docker/rasa.Dockerfile",
                              "helpdesk/services": "docker/services.Dockerfile"}[image]
                yield f"kubernetes {obj['metadata']['name']}", dockerfile, container["command"]


@pytest.mark.parametrize(("where", "dockerfile", "command"), list(commands()),
                         ids=[where for where, _, _ in commands()])
def test_what_each_command_runs_is_copied_into_its_image(where: str, dockerfile: str,
                                                         command: list[str]) -> None:
    copied = [src.rstrip("/") for keyword, args in dockerfile_instructions(ROOT / dockerfile)
              if keyword == "COPY" for src in copy_sources(args)]
    assert command[0] == "python", where
    if command[1] == "-m":
        needed = command[2].split(".")[0]
    else:
        needed = command[1]
    assert any(needed == src or needed.startswith(src + "/") for src in copied), \
        f"{where}: {dockerfile} does not copy {needed}"


# ---------------------------------------------------------------------------------------------------
# Sizing (docs/deploy.md)


def test_the_production_overlay_is_sized_as_docs_deploy_derives_it(production: list[dict]) -> None:
    """docs/deploy.md derives the Rasa replicas from the CPU per message measured in
    docs/performance.md; the overlay must start there, and the arithmetic must hold."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    measured = re.search(r"Rasa ([\d.]+) / ([\d.]+) /\s+([\d.]+) ms a message", text)
    assert measured, "docs/deploy.md no longer quotes the measured CPU per message"
    performance = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert all(figure in performance for figure in measured.groups()), "not docs/performance.md's"
    per_replica = float(re.search(r"\*\*(\d+) msg/s per Rasa replica\*\*", text)[1])
    hpa = by_kind(production, "HorizontalPodAutoscaler")["rasa"]
    target = hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] / 100
    slowest = max(float(figure) for figure in measured.groups())
    assert per_replica <= target * 1000 / slowest  # the autoscaler's target of one core's worth

    staff, burst = 50_000, 2
    assert "a department of 50,000 staff" in text.lower() and "twice the hour's average" in text

    def replicas(per_person: float) -> int:
        return math.ceil(staff * per_person / 3600 * burst / per_replica) + 1

    rows = [[cell.strip(" *") for cell in line.strip("|").split("|")]
            for line in text.splitlines() if re.match(r"^\| \**[\d.]+[^|]*\|.*msg/s", line)]
    assert len(rows) >= 4
    for per_person, average, peak, count in rows:
        m = float(per_person.split()[0])
        assert float(average.split()[0]) == round(staff * m / 3600, 1), per_person
        assert float(peak.split()[0]) == round(staff * m / 3600 * burst, 1), per_person
        assert int(count) == replicas(m), per_person
    assumed = float(re.search(r"\*\*([\d.]+) messages? per member of staff in the peak hour\*\*", text)[1])
    assert hpa["spec"]["minReplicas"] == replicas(assumed)
    assert f"**{replicas(assumed)} Rasa replicas**" in text
