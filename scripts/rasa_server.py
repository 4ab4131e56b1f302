"""Start `rasa run` with the HTTP API locked down, secrets taken from the environment.

Passing --auth-token / --jwt-secret here, inside the process, keeps them out of the process
list (`ps`) where a command-line argument would show them. Run with the Rasa runtime's Python.
Environment: RASA_AUTH_TOKEN, RASA_JWT_SECRET (required), RASA_MODEL, RASA_INTERFACE
(default 127.0.0.1), RASA_PORT (default 5005), plus everything endpoints.yml and
credentials.yml reference.
"""
from __future__ import annotations

import os
import sys


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if len(value) < 32:
        sys.exit(f"error: {name} must be set to at least 32 characters")
    return value


def main() -> None:
    arguments = [
        "rasa", "run",
        "--enable-api",
        "--interface", os.environ.get("RASA_INTERFACE", "127.0.0.1"),
        "--port", os.environ.get("RASA_PORT", "5005"),
        "--auth-token", required("RASA_AUTH_TOKEN"),
        "--jwt-secret", required("RASA_JWT_SECRET"),
        "--credentials", "credentials.yml",
        "--endpoints", "endpoints.yml",
        "--model", os.environ.get("RASA_MODEL", "models"),
    ]
    sys.argv = arguments
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
