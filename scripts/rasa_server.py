"""Start `rasa run` with the HTTP API locked down, secrets taken from the environment.

Passing --auth-token / --jwt-secret here, inside the process, keeps them out of the process
list (`ps`) where a command-line argument would show them. Run with the Rasa runtime's Python.
Environment: RASA_AUTH_TOKEN, RASA_JWT_SECRET (required), RASA_MODEL, RASA_INTERFACE
(default 127.0.0.1), RASA_PORT (default 5005), RASA_READY_DIR (optional: a file per worker
is created there once its model is loaded), SANIC_WORKERS (Rasa's own: worker processes,
more than one only with a shared lock store: the host-local SQLite one or Redis), plus
everything endpoints.yml and credentials.yml reference.

TensorFlow runs each model call on the calling thread (TF_INTER_OP_PARALLELISM_THREADS and
TF_INTRA_OP_PARALLELISM_THREADS default to 1 here; the environment wins): a message's model
calls are tiny, and TensorFlow's default thread pools, one thread per core in every worker,
spent more CPU handing work between threads than computing it (docs/performance.md).

Before Rasa starts, `rasa_runtime.hot_path` patches twelve of its internals that recompute
what does not change, open what could be kept or copy what nobody reads (a schema checked on
every action call, TED predictions, matching rules, dialogue states, the domain's JSON, a
connection per action call, all 23 event schemas tried for each event, dask's scheduler for
graphs of a dozen nodes, a form's trigger message copied into each validation call, debug log
arguments copied while debug logging is off, every event replayed to copy a tracker), or wait
for what they do not need (the parse for the conversation's lock and tracker):
docs/performance.md. Each worker then keeps its start-up
model out of Python's full garbage collections, which otherwise stalled it for over half a
second every so often (`rasa_runtime/frozen_model.py`).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


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


# Read by Rasa when it loads a TensorFlow model (rasa/utils/tensorflow/environment.py).
SINGLE_THREADED_TENSORFLOW = {
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
}


def announce_readiness(ready_directory: Path) -> None:
    """Have each Sanic worker create `<ready_directory>/worker-<pid>` once its model is loaded.

    Rasa answers HTTP as soon as one worker has loaded; the others go on loading (a core each
    for ~20 s). `scripts/stack.py` waits for one file per worker before it says "ready".
    """
    import rasa.core.run

    original = rasa.core.run.load_agent_on_start

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        agent = await original(*args, **kwargs)
        (ready_directory / f"worker-{os.getpid()}").touch()
        return agent

    # serve_application looks the name up when it registers the listener, after this runs.
    rasa.core.run.load_agent_on_start = load_agent_on_start


def main() -> None:
    for name, value in SINGLE_THREADED_TENSORFLOW.items():
        os.environ.setdefault(name, value)
    sys.argv = rasa_arguments()
    from rasa.__main__ import main as rasa_main

    from rasa_runtime import frozen_model, hot_path

    hot_path.install()
    frozen_model.install()  # before announce_readiness: a worker is ready once frozen
    if os.environ.get("RASA_READY_DIR"):
        announce_readiness(Path(os.environ["RASA_READY_DIR"]))

    rasa_main()


if __name__ == "__main__":
    main()
