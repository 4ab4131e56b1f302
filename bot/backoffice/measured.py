"""Back-office call metrics: every method of the configured adapters counted and timed
(`helpdesk_backoffice_calls_total`, `helpdesk_backoffice_call_seconds`) by operation
(`<area>.<method>`, the ports' own names) and outcome, without the adapters knowing."""
from __future__ import annotations

import time
from typing import Any, Callable

from bot import metrics


class Measured:
    """A transparent proxy of one area's adapter: same methods, results and exceptions."""

    def __init__(self, area: str, adapter: Any) -> None:
        self._area, self._adapter = area, adapter

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._adapter, name)
        if not callable(target) or name.startswith("_"):
            return target
        return _measured(f"{self._area}.{name}", target)


def measured(office: Any) -> Any:
    """The same BackOffice with each area's adapter measured."""
    return type(office)(**{area: Measured(area, getattr(office, area))
                           for area in ("people", "absence", "payroll", "finance")})


def _measured(operation: str, call: Callable[..., Any]) -> Callable[..., Any]:
    def measured(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = call(*args, **kwargs)
            outcome = "ok"
            return result
        finally:
            metrics.BACKOFFICE_CALLS.labels(operation, outcome).inc()
            metrics.BACKOFFICE_LATENCY.labels(operation).observe(time.perf_counter() - started)
    return measured
