"""Issue 25 (7e): a token of at least 32 characters off loopback, a Host allow-list on the loopback API, and
``serve`` / ``worker --serve`` refusing an unsafe bind in one line (no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_api import LiveServer
from valuenet.config import Settings
from valuenet.web.app import create_app
from valuenet.web.auth import MIN_TOKEN_CHARS, InsecureBindError, host_name, require_token_for_host

LONG = "t" * MIN_TOKEN_CHARS


@pytest.mark.parametrize("token", [None, "", "x", "t" * (MIN_TOKEN_CHARS - 1)])
def test_a_missing_or_short_token_is_refused_off_loopback(token: str | None) -> None:
    with pytest.raises(InsecureBindError) as e:
        require_token_for_host("0.0.0.0", token)
    message = str(e.value)
    assert "VALUENET_API_TOKEN" in message and "32" in message and "\n" not in message
    if token:
        assert f"has {len(token)} characters" in message


def test_a_long_token_or_loopback_is_accepted() -> None:
    require_token_for_host("0.0.0.0", LONG)
    require_token_for_host("192.168.1.5", LONG + "x")
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        require_token_for_host(host, None)
        require_token_for_host(host, "x")  # a token is optional on loopback, of any length


def test_host_names_are_normalised() -> None:
    assert host_name("LocalHost:8000") == "localhost"
    assert host_name("[::1]:8000") == "[::1]" and host_name("::1") == "[::1]" and host_name("[::1]") == "[::1]"
    assert host_name("127.0.0.1") == "127.0.0.1" and host_name("dash.internal.:443") == "dash.internal"
    assert host_name("evil.example:80") == "evil.example"


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALUENET_") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(VALUENET_HOME=str(tmp), KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9", **extra)
    return env


@pytest.mark.parametrize(
    "argv, extra",
    [
        (["serve", "--host", "0.0.0.0", "--no-kafka"], {"VALUENET_API_TOKEN": "short"}),
        (["serve", "--host", "0.0.0.0", "--no-kafka"], {}),
        (["worker", "--serve"], {"VALUENET_API_HOST": "0.0.0.0"}),
        (["worker", "--serve"], {"VALUENET_API_HOST": "0.0.0.0", "VALUENET_API_TOKEN": "x"}),
    ],
)
def test_unsafe_binds_are_refused_in_one_line(tmp_path: Path, argv: list[str], extra: dict[str, str]) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "valuenet.cli", *argv],
        env=_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "refusing to serve on 0.0.0.0" in lines[0] and "VALUENET_API_TOKEN" in lines[0]


@pytest.fixture
def loopback_api(chdb_store, tmp_path: Path) -> Iterator[LiveServer]:
    """The API on 127.0.0.1 without a token, one extra allowed name."""
    s = Settings(home=tmp_path, chdb_path=tmp_path / "unused", api_allowed_hosts=("dash.internal",))
    with LiveServer(create_app(s, chdb_store, kafka=False, feed_poll_seconds=3600)) as live:
        yield live


def test_the_loopback_api_answers_only_allowed_host_names(loopback_api: LiveServer) -> None:
    port = loopback_api.port
    with httpx.Client(base_url=loopback_api.url) as c:
        for host in ("localhost", f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "dash.internal"):
            r = c.get("/api/meta", headers={"Host": host})
            assert r.status_code == 200, host
        for host in (
            "evil.example",
            f"evil.example:{port}",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "testserver",
        ):
            for path in ("/api/meta", "/healthz", "/", "/api/export?what=actors&format=csv"):
                r = c.get(path, headers={"Host": host})
                assert r.status_code == 421, (host, path, r.status_code)
                assert "VALUENET_API_ALLOWED_HOSTS" in r.json()["detail"]


def test_a_token_protected_api_beyond_loopback_has_no_host_list(chdb_store, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    s = Settings(home=tmp_path, chdb_path=tmp_path / "unused", api_host="0.0.0.0", api_token=LONG)
    with TestClient(create_app(s, chdb_store, kafka=False, feed_poll_seconds=3600)) as c:
        r = c.get("/api/meta", headers={"Host": "valuenet.example.com", "Authorization": f"Bearer {LONG}"})
        assert r.status_code == 200
        assert c.get("/api/meta", headers={"Host": "valuenet.example.com"}).status_code == 401
