"""Service insight end to end (the short version of `make insight-week`): conversations of mixed
outcomes through the running stack, the insight consumer killed and restarted, Rasa killed and
the stack restarted; then the CLI's report and the dashboard's CSV equal the counts made
directly from the raw broker events, nothing lost and nothing counted twice."""
from __future__ import annotations

from pathlib import Path

from benchmarks.insight_week import run


def test_a_short_week_counts_every_conversation_once(tmp_path: Path) -> None:
    result = run(conversations=120, concurrency=4, seed=7, workdir=tmp_path)
    assert len(result["faults"]) == 3
    independent = result["independent"]
    assert result["cli"] == independent, result
    assert result["dashboard"] == independent, result
    # Every conversation that reached Rasa is counted (those cut short by the kill included).
    assert 110 <= independent["conversations"] <= 120, result
    for outcome in ("contained", "handed_off", "with_fallback", "with_did_you_mean",
                    "tickets_raised", "abandoned"):
        assert independent[outcome] > 0, (outcome, result)
    assert independent["ratings"] > 0, result
