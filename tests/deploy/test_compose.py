"""Static checks of the production topology: docker-compose.yml and the two Dockerfiles.

No Docker engine runs these; they read the files and assert the properties production relies on.

The schema is the official Compose Specification as shipped (with its licence and checksum) by the
pinned ``check-jsonschema`` package under ``check_jsonschema/builtin_schemas/vendor``; it declares
its JSON Schema draft in ``$schema``, and the test uses the validator for exactly that draft.

Compose's own variable interpolation is reproduced by :func:`interpolate` (``$$``, ``${VAR}``,
``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?message}``, ``${VAR?message}``, ``$VAR``) so that the
tests can see what a container really receives.
"""

from __future__ import annotations

import copy
import glob
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = Path(
    str(resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json")
)

EXPECTED_SERVICES = {"rasa", "action-server", "web", "postgres", "redis", "migrate", "ticket-worker",
                     "rabbitmq", "insight-consumer"}
REQUIRED_SECRETS = ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD", "RASA_AUTH_TOKEN",
                    "WIDGET_TOKEN_SECRET", "ACTION_SERVER_TOKEN", "HELPDESK_PRINCIPAL_KEY",
                    "RELAY_CONSOLE_KEY", "RELAY_TICKETS_KEY", "RELAY_RECORDS_KEY",
                    "REDIS_PASSWORD")
# Who holds each secret (docs/security.md, "Who holds which secret"): exactly these services.
HOLDERS = {
    "POSTGRES_PASSWORD": {"postgres", "rasa", "action-server", "web", "ticket-worker",
                          "insight-consumer", "migrate"},
    "RABBITMQ_PASSWORD": {"rabbitmq", "rasa", "insight-consumer"},
    "REDIS_PASSWORD": {"redis", "rasa"},
    "RASA_AUTH_TOKEN": {"rasa"},
    "WIDGET_TOKEN_SECRET": {"rasa", "web"},
    "ACTION_SERVER_TOKEN": {"rasa", "action-server"},
    "HELPDESK_PRINCIPAL_KEY": {"rasa", "action-server"},
    "RELAY_CONSOLE_KEY": {"rasa", "web"},
    "RELAY_TICKETS_KEY": {"rasa", "ticket-worker"},
    "RELAY_RECORDS_KEY": {"rasa", "action-server"},
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN", re.IGNORECASE)
# Secret-named variables that may be empty, with the reason.
MAY_BE_EMPTY: set[str] = set()  # Redis asks for REDIS_PASSWORD too (issue 21)
# Channel secrets that are optional: unset means the channel is off (it answers 503), never on
# with a default secret. They may only be written `${NAME:-}`.
OPTIONAL_SECRETS = {"TEAMS_APP_PASSWORD", "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN",
                    "ENTRA_CLIENT_SECRET",  # unset: no sign-in with Entra ID (issue 24)
                    "NOTIFY_API_KEY"}  # unset: no e-mail through GOV.UK Notify (issue 24)
REQUIRED_REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):\?[^}]+\}")
# A version tag: starts with MAJOR.MINOR, e.g. 15.8-alpine, 3.10.13-slim.
PINNED_TAG = re.compile(r"^\d+\.\d+[\w.-]*$")
DUMMY_ENV = {name: f"dummy-{name.lower()}" for name in REQUIRED_SECRETS}
BROKER_URL = "amqp://helpdesk:dummy-rabbitmq_password@rabbitmq:5672/%2F"


# ---------------------------------------------------------------------------------------------------
# Helpers


class MissingVariable(Exception):
    """Compose would refuse to start: a `${VAR:?message}` variable is unset or empty."""


_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<invalid>))"
)


def interpolate_str(text: str, env: Mapping[str, str]) -> str:
    """Expand one string the way `docker compose` does before it creates containers."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["invalid"] is not None:
            raise ValueError(f"invalid interpolation in {text!r}")
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        value = env.get(name)
        unset_or_empty = not value
        if op in (":-", "-"):
            use_default = unset_or_empty if op == ":-" else value is None
            return arg if use_default else str(value)
        if op in (":?", "?"):
            missing = unset_or_empty if op == ":?" else value is None
            if missing:
                raise MissingVariable(f"{name}: {arg}")
            return str(value)
        if op in (":+", "+"):
            use_alt = not unset_or_empty if op == ":+" else value is not None
            return arg if use_alt else ""
        return value or ""

    return _INTERPOLATION.sub(replace, text)


def interpolate(node: Any, env: Mapping[str, str]) -> Any:
    """Interpolate every string value (compose never interpolates keys)."""
    if isinstance(node, str):
        return interpolate_str(node, env)
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    return node


def load_compose() -> dict[str, Any]:
    """docker-compose.yml as compose reads it: YAML with anchors and `<<` merge keys resolved."""
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def schema_validator() -> jsonschema.protocols.Validator:
    schema = load_schema()
    validator_class = jsonschema.validators.validator_for(schema, default=None)
    assert validator_class is not None, f"unknown $schema {schema.get('$schema')!r}"
    validator_class.check_schema(schema)
    return validator_class(schema)


def schema_errors(document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in schema_validator().iter_errors(document)
    ]


def services() -> dict[str, dict[str, Any]]:
    return load_compose()["services"]


def environment(service: Mapping[str, Any]) -> dict[str, str | None]:
    """A service's environment as a dict, whichever of compose's two syntaxes it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return {key: value for key, value in pairs}
    return {key: (None if value is None else str(value)) for key, value in env.items()}


def is_one_shot(service: Mapping[str, Any]) -> bool:
    return service.get("restart", "no") == "no"


def long_running() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in services().items() if not is_one_shot(svc)}


def build_of(service: Mapping[str, Any]) -> tuple[Path, Path] | None:
    """(context directory, Dockerfile path) of a service built here, else None."""
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        context, dockerfile = build, "Dockerfile"
    else:
        context, dockerfile = build.get("context", "."), build.get("dockerfile", "Dockerfile")
    context_dir = (ROOT / context).resolve()
    return context_dir, (context_dir / dockerfile).resolve()


def built_images() -> dict[Path, Path]:
    """Every Dockerfile the compose file builds, mapped to its build context."""
    found: dict[Path, Path] = {}
    for service in services().values():
        build = build_of(service)
        if build is not None:
            context_dir, dockerfile = build
            found[dockerfile] = context_dir
    return found


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and `\\` continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


def copy_sources(args: str) -> list[str]:
    """The source paths of one COPY/ADD instruction (the last word is the destination)."""
    if args.startswith("["):
        words = json.loads(args)
    else:
        words = [word for word in shlex.split(args) if not word.startswith("--")]
    return words[:-1]


def yaml_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from yaml_strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from yaml_strings(value)


def requirement_names(path: Path) -> set[str]:
    """Lower-case project names in a pip requirements file, following `-r` includes."""
    names: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        include = re.match(r"(?:-r|--requirement)\s+(\S+)", line)
        if include:
            names |= requirement_names(path.parent / include[1])
        elif not line.startswith("-"):
            names.add(re.split(r"[\s\[=<>~!;@]", line, maxsplit=1)[0].lower())
    return names


def require_repo_file(relative: str, why: str) -> Path:
    path = ROOT / relative
    if not path.exists():
        pytest.fail(f"{relative} is missing at the repository root ({ROOT}); {why}")
    return path


# ---------------------------------------------------------------------------------------------------
# Schema


def test_vendored_schema_is_the_compose_specification() -> None:
    schema = load_schema()
    assert schema["title"] == "Compose Specification"
    definitions = schema.get("$defs") or schema["definitions"]
    assert "service" in definitions
    schema_validator()  # the schema itself is valid for the draft it declares


def test_compose_file_validates_against_the_schema() -> None:
    raw = load_compose()
    assert schema_errors(raw) == []
    assert schema_errors(interpolate(raw, DUMMY_ENV)) == []


@pytest.mark.parametrize(
    ("what", "break_it"),
    [
        ("ports is not a list", lambda doc: doc["services"]["web"].__setitem__("ports", 5)),
        ("unknown service key", lambda doc: doc["services"]["rasa"].__setitem__("imagee", "x")),
        (
            "unknown depends_on condition",
            lambda doc: doc["services"]["web"]["depends_on"]["rasa"].__setitem__("condition", "up"),
        ),
        ("unknown top-level key", lambda doc: doc.__setitem__("servics", {})),
        (
            "healthcheck test is a number",
            lambda doc: doc["services"]["redis"]["healthcheck"].__setitem__("test", 1),
        ),
    ],
)
def test_schema_rejects_a_broken_copy(what: str, break_it: Any) -> None:
    """Proves the validator is live: the same file, broken in one place, must not validate."""
    broken = copy.deepcopy(load_compose())
    break_it(broken)
    assert schema_errors(broken), f"a compose file with {what} passed the schema"


# ---------------------------------------------------------------------------------------------------
# Services, images, health


def test_the_services_are_exactly_the_topology() -> None:
    assert set(services()) == EXPECTED_SERVICES


def test_images_are_pinned_or_built_from_an_existing_dockerfile() -> None:
    problems: list[str] = []
    for name, service in services().items():
        image = interpolate_str(service.get("image", ""), {})  # defaults, as with no overrides set
        build = build_of(service)
        if build is not None:
            context_dir, dockerfile = build
            if not context_dir.is_dir():
                problems.append(f"{name}: build context {context_dir} does not exist")
            if not dockerfile.is_file():
                problems.append(f"{name}: Dockerfile {dockerfile} does not exist")
        elif not image:
            problems.append(f"{name}: neither image nor build")
        if image and "@sha256:" not in image:
            repository, _, tag = image.rpartition(":")
            if not repository or "/" in tag:
                problems.append(f"{name}: image {image!r} has no tag")
            elif tag == "latest":
                problems.append(f"{name}: image {image!r} uses 'latest'")
            elif build is None and not PINNED_TAG.match(tag):
                problems.append(f"{name}: pulled image {image!r} is not pinned to a version")
    assert problems == []


@pytest.mark.parametrize("dockerfile", sorted(built_images()), ids=lambda p: p.name)
def test_dockerfile_base_images_are_pinned(dockerfile: Path) -> None:
    bases = [args.split()[0] for keyword, args in dockerfile_instructions(dockerfile) if keyword == "FROM"]
    assert bases, f"{dockerfile.name} has no FROM"
    for base in bases:
        _, _, tag = base.partition(":")
        assert PINNED_TAG.match(tag), f"{dockerfile.name}: base image {base!r} is not an exact version"


def test_expected_base_images() -> None:
    expected = {"rasa.Dockerfile": "python:3.10.13-slim", "services.Dockerfile": "python:3.12.1-slim"}
    found = {
        path.name: next(
            args.split()[0] for keyword, args in dockerfile_instructions(path) if keyword == "FROM"
        )
        for path in built_images()
    }
    assert found == expected


def test_pulled_images_are_the_agreed_versions() -> None:
    assert services()["postgres"]["image"] == "postgres:15.8-alpine"
    assert services()["redis"]["image"] == "redis:7.2.5-alpine"
    assert services()["rabbitmq"]["image"] == "rabbitmq:3.13.7-alpine"


def test_long_running_services_have_healthcheck_restart_and_log_rotation() -> None:
    assert set(long_running()) == EXPECTED_SERVICES - {"migrate"}
    for name, service in long_running().items():
        health = service.get("healthcheck") or {}
        assert health.get("test") and not health.get("disable"), f"{name} has no health check"
        assert health["test"] not in (["NONE"], "NONE"), f"{name}'s health check is disabled"
        assert service.get("restart") == "unless-stopped", name
    for name, service in services().items():
        logging = service.get("logging") or {}
        assert logging.get("driver") == "json-file", f"{name}: no json-file logging"
        assert logging.get("options", {}).get("max-size"), f"{name}: logs are not rotated (max-size)"


@pytest.mark.parametrize(("name", "port"), [("rasa", 5005), ("action-server", 5055), ("web", 8080)])
def test_health_checks_probe_the_port_the_process_listens_on(name: str, port: int) -> None:
    service = services()[name]
    command = " ".join(service["command"]) if isinstance(service["command"], list) else service["command"]
    listens = re.search(r"--port\s+(\d+)", command)
    env = environment(service)
    listening = int(listens[1]) if listens else int(env.get("WEB_PORT") or env.get("RASA_PORT") or 0)
    assert listening == port
    probe = " ".join(service["healthcheck"]["test"])
    assert "python" in probe and "urllib" in probe, "slim images have no curl: probe with python"
    assert f"http://127.0.0.1:{port}/" in probe


def test_backing_store_health_checks() -> None:
    assert "pg_isready" in services()["postgres"]["healthcheck"]["test"]
    assert services()["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_redis_asks_for_a_password_that_is_not_in_its_command() -> None:
    redis = interpolate(load_compose(), DUMMY_ENV)["services"]["redis"]
    assert "--requirepass \"$REDIS_PASSWORD\"" in redis["command"][-1]
    assert "dummy-redis_password" not in " ".join(redis["command"])
    assert environment(redis) == {"REDIS_PASSWORD": "dummy-redis_password",
                                  "REDISCLI_AUTH": "dummy-redis_password"}


def test_depends_on_conditions_are_meaningful() -> None:
    """`service_healthy` needs a health check to wait for; `completed_successfully` a one-shot."""
    all_services = services()
    for name, service in all_services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on without conditions"
        for target, spec in depends.items():
            assert target in all_services, f"{name} depends on unknown {target}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert all_services[target].get("healthcheck"), f"{name} waits for {target}'s health"
            elif condition == "service_completed_successfully":
                assert is_one_shot(all_services[target]), f"{name} waits for long-running {target} to exit"
            else:
                pytest.fail(f"{name} -> {target}: use service_healthy or service_completed_successfully")


def test_who_waits_for_whom() -> None:
    def needs(name: str) -> dict[str, str]:
        return {target: spec["condition"] for target, spec in services()[name]["depends_on"].items()}

    assert needs("migrate") == {"postgres": "service_healthy"}
    assert needs("rasa") == {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "rabbitmq": "service_healthy",
        "action-server": "service_healthy",
    }
    assert needs("insight-consumer") == {"postgres": "service_healthy", "rabbitmq": "service_healthy",
                                         "migrate": "service_completed_successfully"}
    for name, service in services().items():
        if "HELPDESK_DATABASE_URL" in environment(service) and name != "migrate":
            assert needs(name).get("migrate") == "service_completed_successfully", name
            assert needs(name).get("postgres") == "service_healthy", name


def test_migrate_is_a_one_shot_of_the_services_image() -> None:
    migrate = services()["migrate"]
    assert migrate["command"] == ["python", "-m", "bot.cli", "migrate"]
    assert is_one_shot(migrate)
    assert build_of(migrate) == build_of(services()["action-server"]) == build_of(services()["web"])
    assert migrate["image"] == services()["action-server"]["image"] == services()["web"]["image"]


def test_replicas() -> None:
    for name in ("rasa", "action-server"):
        assert services()[name]["deploy"]["replicas"] == 2, name
    for name, service in services().items():
        # A fixed container name makes a second replica impossible.
        assert "container_name" not in service, name


# ---------------------------------------------------------------------------------------------------
# Network exposure


def test_only_web_publishes_and_only_on_loopback() -> None:
    for name, service in services().items():
        assert service.get("network_mode") != "host", f"{name} uses the host network"
        ports = service.get("ports") or []
        if name != "web":
            assert ports == [], f"{name} publishes ports {ports}"
    ports = services()["web"]["ports"]
    assert ports, "web publishes nothing"
    for port in ports:
        if isinstance(port, dict):
            host_ip = port.get("host_ip")
        else:
            parts = str(port).split(":")
            host_ip = parts[0] if len(parts) == 3 else None  # HOST_IP:HOST_PORT:CONTAINER_PORT
        assert host_ip == "127.0.0.1", f"web publishes {port!r} beyond loopback"
    assert ports == ["127.0.0.1:8080:8080"]


def test_networks() -> None:
    compose = load_compose()
    assert compose["networks"]["backend"]["internal"] is True
    assert not (compose["networks"].get("frontend") or {}).get("internal")
    for name, service in services().items():
        networks = set(service.get("networks") or [])
        assert "backend" in networks, f"{name} is not on the backend network"
        expected = {"web": {"backend", "frontend"}, "rasa": {"backend", "egress"}}.get(name, {"backend"})
        assert networks == expected, f"{name} is on {sorted(networks)}"


# ---------------------------------------------------------------------------------------------------
# Secrets and environment


def test_no_literal_secrets() -> None:
    problems: list[str] = []
    for name, service in services().items():
        for key, value in environment(service).items():
            if not SECRET_NAME.search(key):
                continue
            if key in MAY_BE_EMPTY and value == "":
                continue
            if key in OPTIONAL_SECRETS and value == f"${{{key}:-}}":
                continue
            if value is None or not REQUIRED_REF.fullmatch(value):
                problems.append(f"{name}.{key} = {value!r} is not a ${{NAME:?message}} reference")
        # Credentials embedded in a URL (scheme://user:password@host/...) must be references as well.
        # Not split on whitespace: the `:?message` of a reference may contain spaces.
        for key, value in environment(service).items():
            _, scheme, rest = (value or "").partition("://")
            userinfo = rest.rpartition("@")[0] if scheme else ""
            if ":" in userinfo and not REQUIRED_REF.fullmatch(userinfo.split(":", 1)[1]):
                problems.append(f"{name}.{key} embeds a literal password")
    assert problems == []
    # No secret is used anywhere without the check, or with a default (a default is a literal secret).
    # Values only, not comments; `$${...}` is left alone: compose passes it on for a shell to expand.
    for text in yaml_strings(load_compose()):
        for secret in REQUIRED_SECRETS:
            unchecked = re.search(rf"(?<!\$)\$(?:\{{{secret}(?!:\?)|{secret}\b)", text)
            assert not unchecked, f"{secret} is used without :? in {text!r}"


@pytest.mark.parametrize("secret", REQUIRED_SECRETS)
def test_compose_refuses_to_start_without_each_secret(secret: str) -> None:
    env = {name: value for name, value in DUMMY_ENV.items() if name != secret}
    with pytest.raises(MissingVariable, match=secret):
        interpolate(load_compose(), env)
    with pytest.raises(MissingVariable, match=secret):
        interpolate(load_compose(), {**env, secret: ""})
    interpolate(load_compose(), DUMMY_ENV)  # and starts with all of them


def test_services_environment() -> None:
    expected = {
        "HELPDESK_DATABASE_URL": "postgresql+psycopg://helpdesk:dummy-postgres_password@postgres:5432/helpdesk",
        "HELPDESK_DEV_SIGNIN": "0",
    }
    compose = interpolate(load_compose(), DUMMY_ENV)
    extra = {
        # The action server holds no widget secret: it neither mints nor checks session tokens.
        "action-server": {"SANIC_HOST": "0.0.0.0", "HANDOFF_HOURS": "business",
                          "METRICS_HOST": "0.0.0.0", "METRICS_PORT": "9102",
                          "ACTION_SERVER_TOKEN": "dummy-action_server_token",
                          "HELPDESK_PRINCIPAL_KEY": "dummy-helpdesk_principal_key",
                          # records notifications: Rasa's relay, with the records key only
                          "RASA_URL": "http://rasa:5005",
                          "RELAY_RECORDS_KEY": "dummy-relay_records_key"},
        "web": {"WEB_HOST": "0.0.0.0", "WEB_PORT": "8080", "RASA_URL": "http://rasa:5005",
                "WIDGET_TOKEN_SECRET": "dummy-widget_token_secret",
                # Production runs behind TLS: Secure cookies and HSTS, never plain-HTTP cookies.
                "WEB_COOKIE_SECURE": "1", "WEB_TRUSTED_PROXIES": "",
                # the console's relay key: no Rasa admin credential, no way to name an employee
                "RELAY_CONSOLE_KEY": "dummy-relay_console_key",
                "TRACKER_STORE_URL": "postgresql://helpdesk:dummy-postgres_password@postgres:5432/rasa_tracker",
                "METRICS_HOST": "0.0.0.0", "METRICS_PORT": "9101",
                # Sign-in with Entra ID: off until configured; local passwords off (issue 24).
                "ENTRA_TENANT_ID": "", "ENTRA_CLIENT_ID": "", "ENTRA_CLIENT_SECRET": "",
                "ENTRA_REDIRECT_URI": "", "HELPDESK_PUBLIC_URL": "",
                "CONSOLE_LOCAL_SIGNIN": "0", "WIDGET_ALLOWED_ORIGINS": ""},
        "insight-consumer": {"EVENT_BROKER_URL": BROKER_URL, "EVENT_BROKER_QUEUE": "helpdesk-insight",
                             "EVENT_BROKER_EXCHANGE": "rasa-exchange", "METRICS_HOST": "0.0.0.0",
                             "METRICS_PORT": "9104"},
        "migrate": {},
    }
    for name, more in extra.items():
        assert environment(compose["services"][name]) == {**expected, **more}, name


def test_rasa_environment() -> None:
    rasa = interpolate(load_compose(), DUMMY_ENV)["services"]["rasa"]
    assert environment(rasa) == {
        "ACTION_ENDPOINT_URL": "http://action-server:5055/webhook",
        "RASA_INTERFACE": "0.0.0.0",
        "RASA_PORT": "5005",
        "RASA_MODEL": "models",
        "TRACKER_STORE_URL": "postgresql://helpdesk:dummy-postgres_password@postgres:5432/rasa_tracker",
        "LOCK_STORE_TYPE": "redis",
        "LOCK_STORE_HOST": "redis",
        "LOCK_STORE_PORT": "6379",
        "LOCK_STORE_DB": "1",
        "LOCK_STORE_PASSWORD": "dummy-redis_password",
        "WIDGET_TOKEN_SECRET": "dummy-widget_token_secret",
        "RASA_AUTH_TOKEN": "dummy-rasa_auth_token",
        "RELAY_CONSOLE_KEY": "dummy-relay_console_key",
        "RELAY_TICKETS_KEY": "dummy-relay_tickets_key",
        "RELAY_RECORDS_KEY": "dummy-relay_records_key",
        "ACTION_SERVER_TOKEN": "dummy-action_server_token",
        "HELPDESK_PRINCIPAL_KEY": "dummy-helpdesk_principal_key",
        "TEAMS_APP_ID": "",
        "TEAMS_APP_PASSWORD": "",
        "TEAMS_TENANT_ID": "",
        "ENTRA_TENANT_ID": "",
        "SLACK_SIGNING_SECRET": "",
        "SLACK_BOT_TOKEN": "",
        "SLACK_TEAM_ID": "",
        "TEAMS_OPENID_METADATA_URL": "",
        "TEAMS_AUTHORITY_HOST": "",
        "SLACK_API_URL": "",
        "SLACK_EMAIL_IDENTITY": "",
        "WIDGET_PUSH_URL": "http://web:8080/internal/widget/push",
        "EVENT_BROKER_URL": BROKER_URL,
        "EVENT_BROKER_QUEUE": "helpdesk-insight",
        "EVENT_BROKER_EXCHANGE": "rasa-exchange",
    }


def test_rasa_command_keeps_its_secrets_out_of_the_command_line() -> None:
    """The API is always authenticated (rasa_server.py refuses to start without its token) and
    the token reaches Rasa through the environment, never through the interpolated command."""
    rasa = interpolate(load_compose(), DUMMY_ENV)["services"]["rasa"]
    assert rasa["command"] == ["python", "scripts/rasa_server.py"]
    assert environment(rasa)["RASA_AUTH_TOKEN"] == DUMMY_ENV["RASA_AUTH_TOKEN"]


def test_each_secret_is_held_by_exactly_the_services_that_need_it() -> None:
    """Least privilege (issue 21): a secret's value reaches only the services docs/security.md
    names for it, whatever variable carries it (a password inside a database URL too)."""
    compose = interpolate(load_compose(), DUMMY_ENV)
    held = {secret: {name for name, service in compose["services"].items()
                     if any(DUMMY_ENV[secret] in value
                            for value in environment(service).values() if value)}
            for secret in REQUIRED_SECRETS}
    assert held == HOLDERS
    # No service but Rasa can use Rasa's HTTP API, and Rasa does not accept JWTs at all.
    assert "RASA_JWT_SECRET" not in COMPOSE_FILE.read_text()


def test_rasa_server_attaches_each_secret_to_its_option(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--auth-token=<secret>`, never two words: a generated secret may start with "-", which
    argparse would read as the next option, and Rasa would refuse to start. No `--jwt-secret`:
    the services reach conversations through the relay channel, not the HTTP API."""
    from scripts.rasa_server import rasa_arguments

    token = "-" + "t" * 40
    monkeypatch.setenv("RASA_AUTH_TOKEN", token)
    monkeypatch.setenv("RASA_JWT_SECRET", "--" + "j" * 40)  # even if one is still set
    arguments = rasa_arguments()
    assert f"--auth-token={token}" in arguments and token not in arguments
    assert not [argument for argument in arguments if "jwt" in argument]
    assert "--enable-api" in arguments


def test_rasa_server_refuses_short_or_missing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from scripts.rasa_server import rasa_arguments

    monkeypatch.setenv("RASA_AUTH_TOKEN", "short")
    with pytest.raises(SystemExit, match="RASA_AUTH_TOKEN"):
        rasa_arguments()
    monkeypatch.delenv("RASA_AUTH_TOKEN")
    with pytest.raises(SystemExit, match="RASA_AUTH_TOKEN"):
        rasa_arguments()


@pytest.mark.parametrize("config_file", ["endpoints.yml", "credentials.yml"])
def test_rasa_environment_sets_every_variable_its_config_uses(config_file: str) -> None:
    """Rasa refuses to start when a `${VAR}` in its own config is unset: all must be in its env."""
    path = require_repo_file(config_file, "Rasa reads it; this test checks its ${VAR} placeholders")
    used = {
        name
        for text in yaml_strings(yaml.safe_load(path.read_text(encoding="utf-8")))
        for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text)
    }
    missing = sorted(used - set(environment(services()["rasa"])))
    assert missing == [], f"{config_file} uses {missing}, not set in the rasa service's environment"


def test_postgres_creates_both_databases() -> None:
    compose = interpolate(load_compose(), DUMMY_ENV)
    postgres = environment(compose["services"]["postgres"])
    rasa = environment(compose["services"]["rasa"])
    helpdesk_url = environment(compose["services"]["web"])["HELPDESK_DATABASE_URL"] or ""
    user_and_password, _, location = helpdesk_url.split("://", 1)[1].partition("@")
    assert location == f"postgres:5432/{postgres['POSTGRES_DB']}"
    assert user_and_password == f"{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
    tracker_credentials, _, tracker_location = rasa["TRACKER_STORE_URL"].split("://", 1)[1].partition("@")
    assert tracker_credentials == f"{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
    tracker_db = tracker_location.rsplit("/", 1)[1]

    mounts = [volume for volume in compose["services"]["postgres"]["volumes"] if isinstance(volume, str)]
    init = [m.split(":") for m in mounts if ":/docker-entrypoint-initdb.d/" in m]
    assert len(init) == 1, "postgres-init.sql is not mounted into /docker-entrypoint-initdb.d/"
    script = (ROOT / init[0][0]).read_text(encoding="utf-8")
    created = re.findall(r"CREATE\s+DATABASE\s+(\w+)(?:\s+OWNER\s+(\w+))?", script, re.IGNORECASE)
    assert created == [(tracker_db, postgres["POSTGRES_USER"])]
    assert any(m.endswith(":/var/lib/postgresql/data") for m in mounts), "postgres data is not on a volume"


# ---------------------------------------------------------------------------------------------------
# Dockerfiles


@pytest.mark.parametrize("dockerfile", sorted(built_images()), ids=lambda p: p.name)
def test_dockerfile_copies_only_what_exists(dockerfile: Path) -> None:
    context = built_images()[dockerfile]
    missing: list[str] = []
    for keyword, args in dockerfile_instructions(dockerfile):
        if keyword in ("COPY", "ADD") and "--from=" not in args:
            missing += [src for src in copy_sources(args) if not glob.glob(str(context / src))]
        if keyword == "RUN":
            for requirements in re.findall(r"(?:-r|--requirement)\s+(\S+)", args):
                if not (context / requirements).is_file():
                    missing.append(f"{requirements} (installed by RUN)")
    if missing:
        pytest.fail(f"{dockerfile.name} needs these at the repository root, which are missing: {missing}")


@pytest.mark.parametrize(
    ("name", "must_copy"),
    [
        (
            "rasa.Dockerfile",
            {
                "config.yml",
                "domain/",
                "credentials.yml",
                "endpoints.yml",
                "data/",
                "connectors/",
                "signing_keys/",  # teams_auth reads the Bot Connector's keys with it
                "rasa_runtime/",
                "scripts/rasa_server.py",
                "models/",
            },
        ),
        ("services.Dockerfile", {"bot/", "actions/", "signing_keys/"}),
    ],
)
def test_dockerfile_copies_the_agreed_content(name: str, must_copy: set[str]) -> None:
    dockerfile = ROOT / "docker" / name
    copied = {
        src
        for keyword, args in dockerfile_instructions(dockerfile)
        if keyword == "COPY"
        for src in copy_sources(args)
    }
    assert must_copy <= copied, f"{name} does not copy {sorted(must_copy - copied)}"
    requirements = {
        "rasa.Dockerfile": "requirements/rasa.txt",
        "services.Dockerfile": "requirements/services.txt",
    }
    runs = " ".join(args for keyword, args in dockerfile_instructions(dockerfile) if keyword == "RUN")
    assert f"pip install --no-cache-dir -r {requirements[name]}" in runs


def test_rasa_image_copies_every_package_endpoints_and_credentials_name() -> None:
    """A custom class named in endpoints.yml or credentials.yml (`type: package.module.Class`)
    must be importable in the Rasa image, or Rasa fails at start-up."""
    named = set()
    for config in ("endpoints.yml", "credentials.yml"):
        text = (ROOT / config).read_text(encoding="utf-8")
        named |= set(re.findall(r"^\s*(?:type:\s*)?([a-z_]+)\.[\w.]+:?\s*$", text, re.M))
        named |= set(re.findall(r"^\s*type:\s*([a-z_]+)\.[\w.]+", text, re.M))
    copied = {
        src.rstrip("/")
        for keyword, args in dockerfile_instructions(ROOT / "docker" / "rasa.Dockerfile")
        if keyword == "COPY"
        for src in copy_sources(args)
    }
    assert named, "no custom class found in endpoints.yml / credentials.yml"
    assert named <= copied, f"rasa.Dockerfile does not copy {sorted(named - copied)}"


@pytest.mark.parametrize("dockerfile", sorted(built_images()), ids=lambda p: p.name)
def test_dockerfile_runs_as_non_root_without_pip_cache(dockerfile: Path) -> None:
    instructions = dockerfile_instructions(dockerfile)
    users = [args.split(":")[0] for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0"), f"{dockerfile.name} runs as root"
    for keyword, args in instructions:
        if keyword == "RUN" and "pip install" in args:
            assert "--no-cache-dir" in args, f"{dockerfile.name}: pip install keeps its cache"
    env = " ".join(args for keyword, args in instructions if keyword == "ENV")
    assert "PYTHONPATH=/app" in env, f"{dockerfile.name}: /app is not importable"


def test_services_requirements_install_the_database_driver() -> None:
    """HELPDESK_DATABASE_URL names SQLAlchemy's `psycopg` (version 3) driver: the image must have it."""
    path = require_repo_file("requirements/services.txt", "the services image installs it")
    assert "psycopg" in requirement_names(path), "requirements/services.txt does not install psycopg (3)"


def test_console_passwords_are_off_in_production_settings() -> None:
    """Issue 24: local console passwords are a development fallback; production agents sign in
    with Entra ID."""
    web = services()["web"]
    assert environment(web)["CONSOLE_LOCAL_SIGNIN"] == "${CONSOLE_LOCAL_SIGNIN:-0}"
    from bot.config import Settings
    production = {"ENTRA_TENANT_ID": "8d3f1a52-6c1e-4b8f-9d2a-0e5c7b4f1a23",
                  "ENTRA_CLIENT_ID": "app", "ENTRA_CLIENT_SECRET": "secret",
                  "HELPDESK_PUBLIC_URL": "https://helpdesk.example.gov.uk",
                  "HELPDESK_DEV_SIGNIN": "0", "CONSOLE_LOCAL_SIGNIN": "0"}
    assert Settings.from_env(production).console_password_signin is False
    assert Settings.from_env({**production, "CONSOLE_LOCAL_SIGNIN": ""}) \
        .console_password_signin is False  # Entra ID configured, no dev sign-in: off
    assert Settings.from_env({"HELPDESK_DEV_SIGNIN": "1"}).console_password_signin is True


def test_make_run_gives_each_process_the_secrets_compose_gives_it() -> None:
    from scripts.stack import OPTIONAL_SECRETS_OF, SECRET_NAMES, SECRETS_OF

    services_of = {"rasa": "rasa", "action server": "action-server", "web app": "web",
                   "ticket worker": "ticket-worker", "insight consumer": "insight-consumer"}
    for process, service in services_of.items():
        assert set(SECRETS_OF[process]) == {
            secret for secret in SECRET_NAMES if service in HOLDERS[secret]}, process
    # The optional ones compose names (Teams, Slack, Entra ID, Notify): the same process each.
    raw = services()
    for process, optional in OPTIONAL_SECRETS_OF.items():
        for secret in optional:
            named_by = {name for name, service in raw.items()
                        if any(f"${{{secret}" in (value or "")
                               for value in environment(service).values())}
            assert named_by in (set(), {services_of[process]}), (secret, named_by)
