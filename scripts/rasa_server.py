"""Start `rasa run` with the HTTP API locked down, secrets taken from the environment.

Passing --auth-token here, inside the process, keeps it out of the process list (`ps`) where a
command-line argument would show it. No JWT secret: nothing but Rasa's own operators uses the
HTTP API (the services reach conversations through the relay channel, connectors/relay.py),
so Rasa's JWT authentication is not switched on. Run with the Rasa runtime's Python.
Environment: RASA_AUTH_TOKEN (required), RASA_MODEL, RASA_INTERFACE
(default 127.0.0.1), RASA_PORT (default 5005), RASA_READY_DIR (optional: a file per worker
is created there once its model is loaded), SANIC_WORKERS (Rasa's own: worker processes,
more than one only with a shared lock store: the host-local SQLite one or Redis), plus
everything endpoints.yml and credentials.yml reference.

TensorFlow runs each model call on the calling thread (TF_INTER_OP_PARALLELISM_THREADS and
TF_INTRA_OP_PARALLELISM_THREADS default to 1 here; the environment wins): a message's model
calls are tiny, and TensorFlow's default thread pools, one thread per core in every worker,
spent more CPU handing work between threads than computing it (docs/performance.md).

Before Rasa starts, it installs the table of `rasa_runtime.patches`: changes to Rasa 3.6.21's
internals that Rasa offers no hook for (speed-ups measured in docs/performance.md, and a worker
that loaded no model stopping instead of serving, each worker announcing its loaded model in
RASA_READY_DIR). The table checks Rasa's version and the source of every function it replaces;
on any difference the server does not start, and the message names the patch.
`HELPDESK_RASA_PATCHES_OFF` names patches to leave out (a comma-separated list; `speed-ups`
for every speed-up, as the benchmark's comparison runs use it; `all`).
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
        "--credentials", "credentials.yml",
        "--endpoints", "endpoints.yml",
        "--model", os.environ.get("RASA_MODEL", "models"),
    ]


# Read by Rasa when it loads a TensorFlow model (rasa/utils/tensorflow/environment.py).
SINGLE_THREADED_TENSORFLOW = {
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
}


def main() -> None:
    for name, value in SINGLE_THREADED_TENSORFLOW.items():
        os.environ.setdefault(name, value)
    sys.argv = rasa_arguments()
    from rasa.__main__ import main as rasa_main

    from rasa_runtime import patches

    try:
        patches.install()
    except patches.PatchRefused as refused:
        sys.exit(f"error: {refused}")
    rasa_main()


if __name__ == "__main__":
    main()
