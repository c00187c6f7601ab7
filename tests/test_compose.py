"""docker-compose.yml: valid against the Compose Specification's JSON schema, and its cross-references hold.

There is no Docker engine here, so the file is checked statically: the vendored schema
(tests/compose_spec/compose-spec.json), then what the schema cannot see — dependencies,
volumes, environment variables known to Settings, commands known to the CLI, pinned versions.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import click
import jsonschema
import pytest
import typer
import yaml

from valuenet.cli import app as cli_app
from valuenet.config import Settings
from valuenet.localstack.kafka import kafka_version

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).resolve().parent / "compose_spec" / "compose-spec.json"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    """The parsed docker-compose.yml (YAML anchors and merge keys resolved)."""
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    """A validator for the vendored Compose Specification schema."""
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _interpolate(value: str) -> str:
    """Compose-style ``${VAR:-default}`` / ``${VAR:?msg}``: the default, or a placeholder for required ones."""
    return _VAR.sub(lambda m: m.group(3) if m.group(2) in (":-", "-") else f"x-{m.group(1).lower()}", value)


def _settings_env_names() -> set[str]:
    names = {"VALUENET_CONFIG"}  # the TOML file, read by Settings.settings_customise_sources
    for name, info in Settings.model_fields.items():
        names.add(info.alias or f"VALUENET_{name.upper()}")
    return names


def _valuenet_services(compose: dict) -> dict[str, dict]:
    return {n: s for n, s in compose["services"].items() if "build" in s}


def test_compose_is_valid_against_the_compose_spec(compose: dict, validator: jsonschema.Draft202012Validator) -> None:
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


@pytest.mark.parametrize(
    "breakage",
    [
        ("services/kafka", "imagee", "apache/kafka"),  # unknown service key
        ("services/worker/depends_on/kafka", "condition", "when_ready"),  # not an allowed condition
        ("", "servicez", {}),  # unknown top-level key
    ],
)
def test_the_schema_rejects_broken_files(compose: dict, validator, breakage) -> None:
    path, key, value = breakage
    broken = copy.deepcopy(compose)
    node = broken
    for part in filter(None, path.split("/")):
        node = node[part]
    node[key] = value
    assert list(validator.iter_errors(broken)), f"{path}/{key}={value!r} should be rejected"


def test_services_the_issue_asks_for(compose: dict) -> None:
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, one node
    assert services["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    assert {"worker", "serve", "replay"} <= set(_valuenet_services(compose))
    assert services["replay"]["profiles"] == ["replay"]


def test_kafka_image_matches_the_pinned_jars(compose: dict) -> None:
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{kafka_version()}"


def test_depends_on_targets_exist_and_can_satisfy_their_condition(compose: dict) -> None:
    services = compose["services"]
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        deps = {d: {"condition": "service_started"} for d in deps} if isinstance(deps, list) else deps
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert dep != name
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy; {dep} has no healthcheck"
            if spec["condition"] == "service_completed_successfully":
                assert services[dep].get("restart") == "no", f"{dep} is waited on to complete; it must not restart"


def test_named_volumes_are_declared(compose: dict) -> None:
    declared = set(compose.get("volumes") or {})
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            source = vol.split(":")[0] if isinstance(vol, str) else vol.get("source", "")
            if source and not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} mounts undeclared volume {source}"


def test_valuenet_services_only_use_environment_variables_settings_knows(compose: dict) -> None:
    known = _settings_env_names()
    services = _valuenet_services(compose)
    assert services
    for name, svc in services.items():
        env = svc.get("environment", {})
        keys = set(env) if isinstance(env, dict) else {e.split("=")[0] for e in env}
        unknown = keys - known
        assert not unknown, f"{name}: {sorted(unknown)} are not read by valuenet.config.Settings"
        assert {"KAFKA_BOOTSTRAP_SERVERS", "CLICKHOUSE_URL"} <= keys, (
            f"{name} must use the compose Kafka and ClickHouse"
        )


def test_connection_settings_point_at_compose_services(compose: dict) -> None:
    services = compose["services"]
    for name, svc in _valuenet_services(compose).items():
        env = svc["environment"]
        for server in env["KAFKA_BOOTSTRAP_SERVERS"].split(","):
            host, port = server.rsplit(":", 1)
            assert (
                host in services
                and f"PLAINTEXT://{server}" in services[host]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
            )
        url = urlsplit(_interpolate(env["CLICKHOUSE_URL"]))
        assert url.scheme == "clickhouse" and url.hostname == "clickhouse" and url.port == 9000, name
        assert url.username == services["clickhouse"]["environment"]["CLICKHOUSE_USER"]
        assert url.path == "/" + services["clickhouse"]["environment"]["CLICKHOUSE_DB"]
    # Values the services give Settings must parse: build Settings from one service's environment.
    env = {k: _interpolate(str(v)) for k, v in services["serve"]["environment"].items()}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        s = Settings()
    assert s.bootstrap_servers == "kafka:9092"
    assert (s.api_host, s.api_port) == ("0.0.0.0", 8000)
    assert s.api_token is not None  # required whenever the API leaves loopback


def test_published_ports_bind_loopback_only(compose: dict) -> None:
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_secrets_are_required_not_defaulted(compose: dict) -> None:
    text = COMPOSE.read_text()
    for var in ("CLICKHOUSE_PASSWORD", "VALUENET_API_TOKEN"):
        uses = re.findall(r"\$\{" + var + r"([^}]*)\}", text)
        assert uses and all(u.startswith(":?") for u in uses), f"{var} must be required (${{{var}:?...}})"


def _cli_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    paths = set()
    for name, cmd in group.commands.items():
        paths.add((*prefix, name))
        if isinstance(cmd, click.Group):
            paths |= _cli_paths(cmd, (*prefix, name))
    return paths


def test_valuenet_service_commands_exist_in_the_cli(compose: dict) -> None:
    known = _cli_paths(typer.main.get_command(cli_app))
    for name, svc in _valuenet_services(compose).items():
        words = [w for w in svc["command"] if not w.startswith("-")]
        assert tuple(words[:2]) in known or tuple(words[:1]) in known, f"{name}: `valuenet {' '.join(words)}` unknown"


def test_build_and_image_files_exist(compose: dict) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["valuenet"]' in dockerfile
    for name, svc in _valuenet_services(compose).items():
        assert (ROOT / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file(), name
        for word in svc["command"]:
            if word.startswith("/app/"):  # the repository is copied to /app in the image
                assert (ROOT / word.removeprefix("/app/")).is_file(), f"{name}: {word} is not in the repository"
