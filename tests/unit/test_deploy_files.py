"""deploy/compose.yaml, deploy/kubernetes.yaml and deploy/Dockerfile (docs/deploy.md) say only what hitl does:
they parse as YAML, every `hitl` command in them parses with hitl's own command line, every HITL_* variable
they set is one hitl reads, and every probe asks a path and port the command serves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hitl.cli.parser import parse

yaml = pytest.importorskip("yaml")
ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROBES = {"/livez", "/readyz"}


def compose() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return found


def kubernetes() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()) if d]


def containers() -> Iterator[dict[str, Any]]:
    for doc in kubernetes():
        if doc["kind"] == "Deployment":
            yield from doc["spec"]["template"]["spec"]["containers"]


def hitl_commands() -> list[list[str]]:
    """Every `hitl ...` command line the files run, the Dockerfile's CMD included."""
    found = [s["command"] for s in compose()["services"].values() if isinstance(s.get("command"), list)]
    found += [c["command"] for c in containers()]
    cmd = re.search(r"^CMD (\[.*\])$", (DEPLOY / "Dockerfile").read_text(), re.M)
    assert cmd, "the Dockerfile has a CMD in exec form"
    found.append(json.loads(cmd.group(1)))
    return [c for c in found if c[0] == "hitl"]


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_every_hitl_command_parses_with_the_cli() -> None:
    commands = hitl_commands()
    assert {c[1] for c in commands} == {"worker", "serve"}
    for command in commands:
        parsed = parse(command[1:])
        assert parsed is not None, command


def test_every_hitl_variable_set_is_one_hitl_reads() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "hitl").rglob("*.py"))
    names: set[str] = set()
    names |= {k for s in compose()["services"].values() for k in (s.get("environment") or {})}
    names |= set(compose()["x-hitl"]["environment"])
    for doc in kubernetes():
        if doc["kind"] == "ConfigMap":
            names |= set(doc["data"])
    names |= {e["name"] for c in containers() for e in c.get("env", [])}
    for name in sorted(n for n in names if n.startswith("HITL_")):
        assert f'"{name}"' in source, f"{name} is set in deploy/ but hitl reads no such variable"
    assert names & {"TEMPORAL_ADDRESS"}, "the files say where Temporal is"


def test_probes_ask_what_the_commands_serve() -> None:
    for container in containers():
        command = container["command"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        served = int(
            flag(command, "--health").rpartition(":")[2] if command[1] == "worker" else flag(command, "--port")
        )
        for probe in ("livenessProbe", "readinessProbe"):
            get = container[probe]["httpGet"]
            assert get["path"] in PROBES and ports[get["port"]] == served, (container["name"], probe)
    for name, service in compose()["services"].items():
        command = service.get("command")
        if isinstance(command, list) and command[0] == "hitl":
            port = flag(command, "--health").rpartition(":")[2] if command[1] == "worker" else flag(command, "--port")
            assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"]), name


def test_the_grace_period_outlasts_the_drain() -> None:
    """Kubernetes (or Compose) kills a pod whose grace runs out: a worker's running nodes would be cut short."""
    for doc in kubernetes():
        if doc["kind"] == "Deployment":
            spec = doc["spec"]["template"]["spec"]
            for container in spec["containers"]:
                assert spec["terminationGracePeriodSeconds"] > float(flag(container["command"], "--drain"))
    for service in compose()["services"].values():
        command = service.get("command")
        if isinstance(command, list) and "--drain" in command:
            assert int(service["stop_grace_period"].rstrip("s")) > float(flag(command, "--drain"))
