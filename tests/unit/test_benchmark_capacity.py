"""Issue 27's benchmark code paths without a stack: levels, the capacity search (on a fake
system), its verdicts and table, and the production topology's settings."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks import production, report
from benchmarks.__main__ import capacity_search, parse_levels, ratios, start_all


def step(concurrency: int, messages_per_second: float, p95_ms: float, errors: int = 0,
         **values: Any) -> dict[str, Any]:
    return {"concurrency": concurrency, "messages": 500, "messages_per_second": messages_per_second,
            "p50_ms": p95_ms / 2, "p95_ms": p95_ms, "max_ms": p95_ms * 2, "errors": errors,
            "wrong_answers": 0, "cpu_ms_per_message": {"rasa": 20.0, "web app": 2.0},
            "load_average": [4.0, 3.5, 3.0], **values}


class FakeSystem:
    """A closed-loop system whose throughput saturates at `ceiling` msg/s: latency follows
    Little's law (concurrency / throughput) once it does."""

    def __init__(self, name: str, ceiling: float, calls: list[tuple[str, int]],
                 failing_at: int | None = None) -> None:
        self.name, self.ceiling, self.calls, self.failing_at = name, ceiling, calls, failing_at

    async def __call__(self, concurrency: int) -> dict[str, Any]:
        self.calls.append((self.name, concurrency))
        throughput = min(self.ceiling, 10.0 * concurrency)
        p95 = 1.8 * 1000 * concurrency / throughput
        return step(concurrency, throughput, p95,
                    errors=1 if concurrency == self.failing_at else 0)


def test_levels_are_rising_positive_whole_numbers() -> None:
    assert parse_levels("1,4,16,64,256") == [1, 4, 16, 64, 256]
    assert parse_levels("none") == [] and parse_levels("") == []
    for wrong in ("4,1", "0,4", "4,4"):
        with pytest.raises(SystemExit):
            parse_levels(wrong)


def test_the_capacity_search_stops_each_system_at_its_limit_and_alternates() -> None:
    calls: list[tuple[str, int]] = []
    found = asyncio.run(capacity_search(
        {"ours": FakeSystem("ours", 80.0, calls), "stock": FakeSystem("stock", 40.0, calls)},
        [2, 4, 8, 16, 32, 64]))
    # p95 = 180 ms below the ceiling, 1.8 s x concurrency / ceiling above it: stock passes
    # 1 s at 32 (1,440 ms), ours at 64
    assert [s["concurrency"] for s in found["stock"]["steps"]] == [2, 4, 8, 16, 32]
    # the highest throughput under the limit; of equal ones, the first (fewest waiting)
    assert found["stock"]["best"]["concurrency"] == 4
    assert [s["concurrency"] for s in found["ours"]["steps"]] == [2, 4, 8, 16, 32, 64]
    assert found["ours"]["best"]["concurrency"] == 8
    assert found["ours"]["best"]["messages_per_second"] == 80.0
    assert found["ours"]["steps"][-1]["p95_ms"] == 1440.0
    assert calls[:4] == [("ours", 2), ("stock", 2), ("stock", 4), ("ours", 4)]
    assert calls[-1] == ("ours", 64)  # stock stopped after 32
    assert ratios({"end_to_end": [], "intent_accuracy": 1.0, "capacity": found["ours"]},
                  {"end_to_end": [], "intent_accuracy": 1.0, "capacity": found["stock"]}
                  )["capacity_ours_over_stock"] == 2.0


def test_an_error_ends_the_search_and_its_step_does_not_count() -> None:
    calls: list[tuple[str, int]] = []
    found = asyncio.run(capacity_search({"ours": FakeSystem("ours", 80.0, calls, failing_at=4)},
                                        [2, 4, 8]))
    assert [s["concurrency"] for s in found["ours"]["steps"]] == [2, 4]
    assert found["ours"]["best"]["concurrency"] == 2


def test_no_step_under_the_limit_or_without_mistakes_gives_no_capacity() -> None:
    assert report.best_under([step(2, 5.0, 1000.0), step(4, 6.0, 1500.0)], 1000.0) is None
    assert report.best_under([step(2, 5.0, 999.0), step(4, 6.0, 900.0, errors=2)],
                             1000.0)["concurrency"] == 2
    assert report.best_under([step(2, 5.0, 999.0), step(4, 6.0, 900.0, wrong_answers=1)],
                             1000.0)["concurrency"] == 2


def test_the_ceiling_on_two_cores() -> None:
    assert report.ceiling(25.0, 2) == 80.0
    assert report.ceiling(0.0, 2) == 0.0
    assert report.cpu_total({"rasa": 20.0, "database": 3.25, "web app": 1.0}) == 24.2


def run(topology: str, best: float | None, **levels: Any) -> dict[str, Any]:
    steps = [step(8, best, 400.0)] if best is not None else [step(8, 30.0, 1500.0)]
    end_to_end = [step(c, 10.0, p95) for c, p95 in levels.get("p95", {}).items()]
    return {"topology": topology, "end_to_end": end_to_end,
            "capacity": {"steps": steps, "best": report.best_under(steps, 1000.0),
                         "p95_limit_ms": 1000.0}}


def test_issue_27_verdicts_by_topology_and_against_stock() -> None:
    ours = run("production", 65.0, p95={16: 300.0, 64: 501.0, 256: 4000.0})
    verdicts = report.production_targets(ours, run("production", 50.0))
    assert verdicts["p95_ms_at_16_le_300_zero_errors"]["met"] is True
    assert verdicts["p95_ms_at_64_le_500_zero_errors"]["met"] is False
    assert verdicts["at_256_shown"]["p95_ms"] == 4000.0
    assert verdicts["capacity_msg_per_s_ge_60"] == {
        "measured": 65.0, "at_concurrency": 8, "p95_ms": 400.0, "met": True}
    assert verdicts["capacity_ge_1.3x_stock"]["measured_ratio"] == 1.3
    assert verdicts["capacity_ge_1.3x_stock"]["met"] is True
    embedded = report.production_targets(run("embedded", 65.0), None)
    assert embedded["capacity_msg_per_s_ge_80"]["met"] is False
    assert "capacity_ge_1.3x_stock" not in embedded
    none_under = report.production_targets(run("embedded", None), run("embedded", 50.0))
    assert none_under["capacity_msg_per_s_ge_80"]["measured"] == 0.0
    assert none_under["capacity_ge_1.3x_stock"]["met"] is False


def test_the_capacity_table_shows_every_step_and_the_ceiling() -> None:
    lines = report.capacity_table("ours", run("embedded", 65.0), cores=2)
    assert lines[3].startswith("| 8 | 65.0 | 200.0 | 400.0 |") and "4.00 3.50 3.00" in lines[3]
    assert "20.0 / " in lines[3] and "/ in-process / 22.0 |" in lines[3]
    assert lines[-1].startswith("capacity: 65.0 msg/s at 8 (p95 400.0 ms)")
    assert "a ceiling of 90.9 msg/s on 2 cores" in lines[-1]
    assert report.capacity_table("ours", run("embedded", None), 2)[-1].startswith(
        "capacity: no step")


def test_the_production_topology_adds_rabbitmq_and_two_action_servers() -> None:
    stores = production.ProductionStores(
        "postgresql+psycopg://h/bench_helpdesk_x", "postgresql://h/bench_tracker_x",
        redis_db="14", broker_queue="bench-insight-x", broker_exchange="bench-events-x")
    env = production.environment(stores)
    assert env["EVENT_BROKER_URL"].startswith("amqp://")
    assert (env["EVENT_BROKER_QUEUE"], env["EVENT_BROKER_EXCHANGE"]) == (
        "bench-insight-x", "bench-events-x")
    assert env["ACTION_SERVER_SANIC_WORKERS"] == "2" and env["LOCK_STORE_DB"] == "14"
    assert stores.database_names == ("bench_helpdesk_x", "bench_tracker_x")
    assert production.database_pids(None) == []


def test_stacks_start_together_and_one_that_fails_stops_the_others() -> None:
    events: list[str] = []

    @contextlib.contextmanager
    def fake(name: str, fails: bool = False) -> Iterator[str]:
        events.append(f"start {name}")
        if fails:
            raise RuntimeError(f"{name} did not start")
        try:
            yield name
        finally:
            events.append(f"stop {name}")

    with contextlib.ExitStack() as started:
        assert start_all(started, [fake("ours"), fake("stock")]) == ["ours", "stock"]
    assert sorted(events) == ["start ours", "start stock", "stop ours", "stop stock"]
    events.clear()
    with pytest.raises(RuntimeError, match="stock did not start"):
        with contextlib.ExitStack() as started:
            start_all(started, [fake("ours"), fake("stock", fails=True)])
    assert sorted(events) == ["start ours", "start stock", "stop ours"]


def test_the_profile_leaves_waiting_threads_out_of_its_proportions() -> None:
    import collections

    from benchmarks.profile import busy, summarise

    stacks = collections.Counter({
        ("process 1", "run (rasa/core/agent.py)", "do_execute (sqlalchemy/engine/default.py)"): 30,
        ("process 1", "run (rasa/core/agent.py)", "predict (rasa/core/policies.py)"): 10,
        ("process 1", "_bootstrap (threading.py)", "_worker (concurrent/futures/thread.py)"): 60,
    })
    assert sum(busy(stacks).values()) == 40
    text = summarise("rasa", stacks)
    assert "40 busy samples" in text and "60 more waiting" in text
    assert " 75.0%  do_execute (sqlalchemy/engine/default.py)" in text


def test_the_database_s_cpu_never_goes_back_when_a_backend_exits(monkeypatch: Any) -> None:
    from benchmarks.__main__ import Bench

    backends = [{101: 1.0, 102: 2.0}, {101: 1.5}, {101: 2.0, 103: 0.25}]
    monkeypatch.setattr(production, "database_pids", lambda _stores: list(backends[0]))
    monkeypatch.setattr(report, "cpu_seconds", lambda pid: backends[0][pid])
    bench = Bench("ours", stack=None, stores="stores")  # type: ignore[arg-type]
    readings = []
    for _ in range(3):
        readings.append(bench.database_seconds())
        backends.pop(0) if len(backends) > 1 else None
    assert readings == [3.0, 3.5, 4.25]
