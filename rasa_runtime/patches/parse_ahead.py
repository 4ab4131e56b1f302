"""A message's NLU parse runs while Rasa takes the conversation's lock and reads its tracker
(the patch `parse_ahead` of `rasa_runtime.patches`).

Rasa 3.6 handles a message in sequence on the event loop: take the conversation's lock, read
the tracker (and start a session if due), then parse the text, then predict and act. The
parse is the largest part (about half of a message at concurrency 1), and it needs neither
the lock nor the tracker: the NLU graph's nodes take the message alone (checked on each
model's graph, below; `/model/parse` parses with an empty tracker for the same reason). So
`Agent.handle_message` starts the parse on a worker thread before taking the lock, and the
processor, where it would parse, waits for that result instead: the lock, the tracker read
and the session check then run alongside the parse instead of before it.

The parse is Rasa's own `MessageProcessor.parse_message`, unchanged, given no tracker, as
`/model/parse` calls it. It runs on one thread per process, and only for a message that
arrives while the process handles no other: then the second core is idle and the overlap is
free. A busy process parses on the event loop as before; there the loop has other messages'
work to do meanwhile, and a parse thread would only contend with it for the GIL. A message
that carries its parse already (`parse_data`, an external intent), a processor that parses
over HTTP, and a model whose NLU graph reads the tracker, are handled as before too.

If handling stops before the parse is used (the lock timed out, the tracker could not be
read), the parse's result or error is dropped unread: the error that stopped the handling is
the one the caller sees, as before.

The interpreter's GIL switch interval is Python's default (5 ms): the event loop's SQLite
calls release the GIL and may wait for the parse thread to hand it back. An earlier version
set it to 0.1 ms for the whole process, which made the overlap pay (docs/performance.md,
speed-up 18); a process-wide setting is not this patch's to make, and whether the patch still
earns its place without it is measured with `HELPDESK_RASA_PATCHES_OFF=parse_ahead`.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Awaitable, Callable, Dict, Optional, Text

_PENDING_ATTRIBUTE = "_helpdesk_pending_parse"  # on the UserMessage being handled
_TRACKER_FREE_ATTRIBUTE = "_helpdesk_nlu_reads_no_tracker"  # on the processor, per model

_executor_lock = threading.Lock()
_executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
_handling = 0  # messages this process is handling now (all on its one event loop)


def parse_executor() -> concurrent.futures.ThreadPoolExecutor:
    """The process's one parse thread, started with the first message."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="nlu-parse")
        return _executor


def nlu_reads_no_tracker(processor: Any) -> bool:
    """True when no node of the model's NLU graph takes the tracker (computed once per
    processor, which holds one model)."""
    known = processor.__dict__.get(_TRACKER_FREE_ATTRIBUTE)
    if known is None:
        from rasa.engine.constants import PLACEHOLDER_TRACKER

        metadata = processor.model_metadata
        schema = metadata.predict_schema.minimal_graph_schema([metadata.nlu_target])
        known = all(PLACEHOLDER_TRACKER not in node.needs.values()
                    for node in schema.nodes.values())
        processor.__dict__[_TRACKER_FREE_ATTRIBUTE] = known
    return known


def can_parse_ahead(processor: Any, message: Any) -> bool:
    return (processor is not None and processor.http_interpreter is None
            and not message.parse_data and nlu_reads_no_tracker(processor))


def parse_now(processor: Any, message: Any) -> Dict[Text, Any]:
    """`processor.parse_message(message)` on the calling thread, without an event loop.

    Without an HTTP interpreter the coroutine never suspends (it awaits nothing that waits),
    so one step runs it to the end; a suspension would mean Rasa changed, and is an error.
    """
    coroutine = processor.parse_message(message)
    try:
        coroutine.send(None)
    except StopIteration as finished:
        return finished.value
    coroutine.close()
    raise RuntimeError("MessageProcessor.parse_message suspended: it cannot run off the loop")


def _drop_unread(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled():
        future.exception()  # marks the error as retrieved: the caller saw another one


def parsing_ahead(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap `Agent.handle_message`: start the parse, then handle as before."""

    async def handle_message(self: Any, message: Any) -> Any:
        global _handling
        if _handling == 0 and self.is_ready() and can_parse_ahead(self.processor, message):
            loop = asyncio.get_running_loop()
            message.__dict__[_PENDING_ATTRIBUTE] = loop.run_in_executor(
                parse_executor(), parse_now, self.processor, message)
        _handling += 1
        try:
            return await original(self, message)
        finally:
            _handling -= 1
            unread = message.__dict__.pop(_PENDING_ATTRIBUTE, None)
            if unread is not None:
                unread.add_done_callback(_drop_unread)

    handle_message.__wrapped__ = original  # type: ignore[attr-defined]
    handle_message.__doc__ = original.__doc__
    return handle_message


def using_the_parse_ahead(
        original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap `MessageProcessor._handle_message_with_tracker`: take the parse started ahead,
    as Rasa takes a parse the message carries."""

    async def _handle_message_with_tracker(self: Any, message: Any, tracker: Any) -> None:
        pending = message.__dict__.pop(_PENDING_ATTRIBUTE, None)
        if pending is not None:
            message.parse_data = await pending
        return await original(self, message, tracker)

    _handle_message_with_tracker.__wrapped__ = original  # type: ignore[attr-defined]
    return _handle_message_with_tracker
