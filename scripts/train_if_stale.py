"""Train the Rasa model unless one exists for exactly this data, config and domain.

Run with the Rasa runtime's Python. Rasa's own output goes to var/logs/train.log; the terminal
gets one line per trained component. The model is named after a hash of config.yml, the
domain and every file under data/ (plus the Rasa version), so a stale model is never used
and an unchanged project never retrains. Prints the model path; writes it to
models/current.txt for `make run` and the tests.

`--config PATH --prefix NAME` trains another configuration on the same data (the benchmark's
stock-Rasa comparison) without touching models/current.txt.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
KEEP_MODELS = 3
TRAIN_LOG = ROOT / "var" / "logs" / "train.log"
# Rasa logs "Starting to train component 'DIETClassifier'." as each graph node trains.
COMPONENT_STARTED = re.compile(r"Starting to train component '(\w+)'")


def training_inputs() -> list[Path]:
    domain_files = sorted((ROOT / "domain").rglob("*.yml"))
    return [*domain_files, *sorted((ROOT / "data").rglob("*.yml"))]


def fingerprint(config: Path) -> str:
    from importlib.metadata import version

    digest = hashlib.sha256(f"rasa=={version('rasa')}\n".encode())
    digest.update(config.read_bytes() + b"\0")
    for path in training_inputs():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def train(name: str, config: Path) -> None:
    """Run `rasa train`, its output kept in var/logs/train.log; one line per component here."""
    env = dict(os.environ)
    threads = str(os.cpu_count() or 2)
    env.setdefault("TF_INTER_OP_PARALLELISM_THREADS", threads)
    env.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", threads)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("TQDM_DISABLE", "1")  # no per-epoch progress bars in the log
    rasa = Path(sys.executable).with_name("rasa")
    command = [str(rasa), "train", "--config", str(config), "--domain", "domain",
               "--out", str(MODELS), "--fixed-model-name", name]
    TRAIN_LOG.parent.mkdir(parents=True, exist_ok=True)
    say(f"training the model (a few minutes; Rasa's output: {TRAIN_LOG.relative_to(ROOT)})")
    started = time.monotonic()
    with TRAIN_LOG.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="replace")
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            step = COMPONENT_STARTED.search(line)
            if step:
                say(f"  {step.group(1)} ({time.monotonic() - started:.0f} s)")
        code = process.wait()
    if code:
        tail = TRAIN_LOG.read_text(errors="replace").splitlines()[-40:]
        say("\n".join(["rasa train failed; the end of its output:", *tail]))
        raise SystemExit(code)
    say(f"trained {name} in {time.monotonic() - started:.0f} s")


def prune(keep: Path, prefix: str) -> None:
    models = sorted(MODELS.glob(f"{prefix}-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    for old in [m for m in models if m != keep][: max(0, len(models) - KEEP_MODELS)]:
        old.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--prefix", default="helpdesk")
    args = parser.parse_args()
    MODELS.mkdir(exist_ok=True)
    name = f"{args.prefix}-{fingerprint(args.config)}"
    model = MODELS / f"{name}.tar.gz"
    if model.exists():
        say(f"model is up to date: {model.relative_to(ROOT)}")
    else:
        train(name, args.config)
        prune(model, args.prefix)
    if args.prefix == "helpdesk":
        (MODELS / "current.txt").write_text(f"{model.relative_to(ROOT)}\n")
    print(model.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
