"""The sample Prometheus configuration and alert rules (docker/prometheus/): well-formed, every
expression parses as PromQL (promql-parser, the Rust parser of GreptimeDB; promtool is not
installed here), names only metrics the services export, and scrapes the ports they listen on."""
from __future__ import annotations

import re
from pathlib import Path

import promql_parser
import pytest
import yaml

from bot import metrics

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "docker" / "prometheus" / "prometheus.yml"
RULES = ROOT / "docker" / "prometheus" / "alerts.yml"
DURATION = re.compile(r"^\d+[smhdwy]$")
EXPECTED_ALERTS = {"SlaBreachesRising", "NobodyOnlineWithPeopleQueued", "HighErrorRate"}


def _rules() -> list[dict]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert set(document) == {"groups"}
    rules = []
    for group in document["groups"]:
        assert set(group) <= {"name", "rules", "interval"} and group["name"] and group["rules"]
        rules.extend(group["rules"])
    return rules


def _exported_names() -> set[str]:
    names = set(metrics.GAUGES)
    for value in vars(metrics).values():
        describe = getattr(value, "describe", None)
        if callable(describe) and hasattr(value, "_name"):
            for family in describe():
                names.add(family.name)
                names.update(sample.name for sample in family.samples)
                if family.type == "counter":
                    names.add(family.name + "_total")
                if family.type == "histogram":
                    names.update(family.name + s for s in ("_bucket", "_sum", "_count"))
    return names


def test_every_rule_is_a_well_formed_alert() -> None:
    rules = _rules()
    assert EXPECTED_ALERTS <= {rule["alert"] for rule in rules}
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"])
        assert DURATION.match(rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r["alert"])
def test_every_expression_parses_and_names_exported_metrics(rule: dict) -> None:
    promql_parser.parse(rule["expr"])  # raises ValueError on a syntax error
    used = set(re.findall(r"\b(helpdesk_[a-z_]+)\b", rule["expr"]))
    assert used and used <= _exported_names(), used - _exported_names()


def test_the_parser_refuses_a_broken_expression() -> None:
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(helpdesk_http_requests_total[5m]) >")


def test_scrape_targets_are_the_internal_metrics_ports() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert config["rule_files"] == ["alerts.yml"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    ports = {name: service["environment"].get("METRICS_PORT")
             for name, service in compose["services"].items()
             if isinstance(service.get("environment"), dict)
             and service["environment"].get("METRICS_PORT")}
    assert ports == {"web": "9101", "action-server": "9102", "ticket-worker": "9103",
                     "insight-consumer": "9104"}
    targets = set()
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            targets.update(static["targets"])
        for dns in job.get("dns_sd_configs", []):
            targets.update(f"{name}:{dns['port']}" for name in dns["names"])
    for name, port in ports.items():
        assert f"{name}:{port}" in targets
    for service in compose["services"].values():  # none of them is published
        assert not any(str(p).endswith(tuple(ports.values())) for p in service.get("ports", []))
