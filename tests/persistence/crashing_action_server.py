"""Fault injection for the crash-recovery test (test code only): the action server,
except that its process dies right after a new ticket is committed and before the reply, as a
killed action server would.

Run as `python -m tests.persistence.crashing_action_server --actions actions --port N`.
The fault is installed when this module runs as the main module: as `__main__` in the server
process and as `__mp_main__` in each of Sanic's worker processes, which import the main module
again when they are spawned. Importing it elsewhere (the test reads its names) changes nothing.
"""
from __future__ import annotations

import os
import sys
from typing import Any

import actions.tickets
from bot.tickets.requester import RaisedTicket

FAULT_MESSAGE = "fault_injection crash_after_ticket_commit"
EXIT_CODE = 70
_raise_ticket = actions.tickets.raise_ticket


def raise_ticket_then_crash(*args: Any, **kwargs: Any) -> RaisedTicket:
    """The real `raise_ticket`; when it created the ticket, the process ends at once."""
    raised = _raise_ticket(*args, **kwargs)
    if raised.created:
        print(FAULT_MESSAGE, file=sys.stderr, flush=True)
        os._exit(EXIT_CODE)  # no reply, no clean-up: as SIGKILL would leave it
    return raised


if __name__ in ("__main__", "__mp_main__"):
    actions.tickets.raise_ticket = raise_ticket_then_crash

if __name__ == "__main__":
    from actions.server import main

    main()
