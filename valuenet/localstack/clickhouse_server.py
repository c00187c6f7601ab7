"""A throwaway local ClickHouse server (Debian's ``clickhouse-server``, 18.16) for tests and development.

Runs as a non-daemon child with its own ``config.xml`` and ``users.xml`` in a
data directory, listening on 127.0.0.1 on free TCP and HTTP ports::

    with ClickHouseServer() as url:          # clickhouse://default:@127.0.0.1:<port>/default
        store = ServerStore(url, database="scratch")

    python -m valuenet.localstack.clickhouse_server    # run in the foreground, print the URL
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from xml.sax.saxutils import escape

__all__ = ["ClickHouseServer", "ClickHouseServerError", "find_binary", "free_port"]

_CANDIDATES = ("clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server")

_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger>
    <level>{log_level}</level>
    <log>{dir}/log/clickhouse-server.log</log>
    <errorlog>{dir}/log/clickhouse-server.err.log</errorlog>
    <size>50M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp_port}</tcp_port>
  <http_port>{http_port}</http_port>
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <users_config>{dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
{extra}
</yandex>
"""

_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>{max_memory}</max_memory_usage></default></profiles>
  <users>
    <default>
      <password>{password}</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"""


class ClickHouseServerError(RuntimeError):
    """The server binary is missing, or the server did not start or stop."""


def find_binary() -> list[str]:
    """The command that runs a ClickHouse server: ``clickhouse-server`` or ``clickhouse server``."""
    for candidate in _CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return [found]
    found = shutil.which("clickhouse")
    if found:
        return [found, "server"]
    raise ClickHouseServerError(
        "no ClickHouse server binary found (clickhouse-server or clickhouse); "
        "on Debian/Ubuntu: sudo apt-get install clickhouse-server"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies (Linux), so no server outlives its test run."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ClickHouseServer:
    """Start, wait for and stop a private ClickHouse server.

    Parameters
    ----------
    data_dir : Path, optional
        Where config, data and logs live; default a fresh temporary directory removed on stop.
    tcp_port, http_port : int, optional
        Default: free ports.
    password : str, default ""
        Password of the ``default`` user (listening on 127.0.0.1 only).
    start_timeout : float, default 60
        Seconds to wait for ``/ping`` to answer.
    extra_config : str, default ""
        XML elements added to ``config.xml`` (e.g. ``<remote_servers>``, ``<macros>``, ``<zookeeper>``).
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        tcp_port: int | None = None,
        http_port: int | None = None,
        password: str = "",
        log_level: str = "warning",
        max_memory: int = 2_000_000_000,
        start_timeout: float = 60.0,
        extra_config: str = "",
    ) -> None:
        self._owns_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="valuenet-clickhouse-"))
        self.tcp_port = tcp_port or free_port()
        self.http_port = http_port or free_port()
        while self.http_port == self.tcp_port:
            self.http_port = free_port()
        self.password = password
        self.log_level = log_level
        self.max_memory = max_memory
        self.start_timeout = start_timeout
        self.extra_config = extra_config
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``clickhouse://default:<password>@127.0.0.1:<tcp_port>/default`` for clickhouse-driver."""
        return f"clickhouse://default:{self.password}@127.0.0.1:{self.tcp_port}/default"

    @property
    def log_file(self) -> Path:
        """The server's error log (first place to look when it does not start)."""
        return self.data_dir / "log" / "clickhouse-server.err.log"

    def _write_config(self) -> Path:
        for sub in ("data", "tmp", "user_files", "format_schemas", "log"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        d = escape(str(self.data_dir.resolve()))
        config = self.data_dir / "config.xml"
        config.write_text(
            _CONFIG.format(
                dir=d,
                tcp_port=self.tcp_port,
                http_port=self.http_port,
                log_level=self.log_level,
                extra=self.extra_config,
            ),
            encoding="utf-8",
        )
        (self.data_dir / "users.xml").write_text(
            _USERS.format(password=escape(self.password), max_memory=self.max_memory), encoding="utf-8"
        )
        return config

    def ping(self) -> bool:
        """True when the HTTP interface answers ``Ok.``."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/ping", timeout=1) as r:
                return r.read().strip() == b"Ok."
        except OSError:
            return False

    def start(self) -> str:
        """Start the server and wait until it answers; return its URL."""
        if self._process is not None:
            return self.url
        command = [*find_binary(), f"--config-file={self._write_config()}"]
        out = open(self.data_dir / "log" / "stdout.log", "ab")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        out.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise ClickHouseServerError(f"clickhouse-server exited with {code}; see {self.log_file}")
            if self.ping():
                return self.url
            time.sleep(0.1)
        self.stop()
        raise ClickHouseServerError(
            f"clickhouse-server did not answer within {self.start_timeout}s; see {self.log_file}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``) and remove a temporary data dir."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Run a server in the foreground until Ctrl-C or SIGTERM; print its URL."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m valuenet.localstack.clickhouse_server",
        description="Run a throwaway ClickHouse server (Debian's clickhouse-server) on 127.0.0.1 in the foreground, "
        "print CLICKHOUSE_URL=… and stop it (deleting a temporary data directory) on Ctrl-C or SIGTERM.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ["VALUENET_CLICKHOUSE_DIR"]) if os.environ.get("VALUENET_CLICKHOUSE_DIR") else None,
        help="keep the data here (default: VALUENET_CLICKHOUSE_DIR, else a temporary directory removed at the end)",
    )
    parser.add_argument("--tcp-port", type=int, default=None, help="native protocol port (default: a free one)")
    parser.add_argument("--http-port", type=int, default=None, help="HTTP port (default: a free one)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    server = ClickHouseServer(args.data_dir, tcp_port=args.tcp_port, http_port=args.http_port)
    try:
        print(f"CLICKHOUSE_URL={server.start()}", flush=True)
        while server.running:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
