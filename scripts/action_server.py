"""Start the action server (services runtime): rasa-sdk's app behind the guard of
`actions/server.py` (Rasa's credential and a signed principal before any action, issue 21),
with Prometheus metrics (`bot.actions_metrics`: a middleware pair that counts and times each
request by route and status, and the internal metrics listener on METRICS_HOST:METRICS_PORT in
the worker that serves the requests).

Usage: `python scripts/action_server.py --actions actions --port 5055`.
"""
from __future__ import annotations

import sys

from actions.server import main

if __name__ == "__main__":
    sys.exit(main())
