"""Start `rasa run` with the HTTP API locked down, secrets taken from the environment.

Passing --auth-token / --jwt-secret here, inside the process, keeps them out of the process
list (`ps`) where a command-line argument would show them. Run with the Rasa runtime's Python.
Environment: RASA_AUTH_TOKEN, RASA_JWT_SECRET (required), RASA_MODEL, RASA_INTERFACE
(default 127.0.0.1), RASA_PORT (default 5005), SANIC_WORKERS (Rasa's own: worker processes,
more than one only with the Redis lock store), plus everything endpoints.yml and
credentials.yml reference.

Before Rasa starts, `rasa_runtime.hot_path` patches five of its methods that recompute what does
not change (a schema checked on every action call, TED predictions, matching rules, dialogue
states, the domain's JSON): docs/performance.md.
"""
from __future__ import annotations

import os
import sys


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if len(value) < 32:
        sys.exit(f"error: {name} must be set to at least 32 characters")
    return value


def rasa_arguments() -> list[str]:
    """The `rasa run` command line, secrets attached to their options."""
    return [
        "rasa", "run",
        "--enable-api",
        "--interface", os.environ.get("RASA_INTERFACE", "127.0.0.1"),
        "--port", os.environ.get("RASA_PORT", "5005"),
        # "--option=value": a generated secret may start with "-", which argparse would
        # otherwise read as the next option (Rasa then refuses to start).
        f"--auth-token={required('RASA_AUTH_TOKEN')}",
        f"--jwt-secret={required('RASA_JWT_SECRET')}",
        "--credentials", "credentials.yml",
        "--endpoints", "endpoints.yml",
        "--model", os.environ.get("RASA_MODEL", "models"),
    ]


def main() -> None:
    sys.argv = rasa_arguments()
    from rasa.__main__ import main as rasa_main

    from rasa_runtime import hot_path

    hot_path.install()

    rasa_main()


if __name__ == "__main__":
    main()
