"""A throwaway local Apache ZooKeeper (standalone) for replicated ClickHouse tables in tests and development.

Its jars come from Maven Central like the Kafka broker's: ``mvn dependency:copy-dependencies`` on
``valuenet/localstack/zookeeper-pom.xml`` into ``~/.cache/valuenet/zookeeper-<version>/libs``; the server
is ``java … org.apache.zookeeper.server.ZooKeeperServerMain <port> <data dir>`` on 127.0.0.1::

    with ZooKeeper() as port:        # 127.0.0.1:<port>
        ...
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import TracebackType

from valuenet.localstack.clickhouse_server import _die_with_parent, free_port
from valuenet.localstack.kafka_jars import KafkaStackError, find_java, find_maven, locked

__all__ = ["ZooKeeper", "ZooKeeperError", "fetch_zookeeper_jars", "zookeeper_version"]

POM_PATH = Path(__file__).resolve().parent / "zookeeper-pom.xml"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


class ZooKeeperError(RuntimeError):
    """ZooKeeper's jars cannot be fetched, or the server did not start."""


def zookeeper_version() -> str:
    """The ZooKeeper version pinned in ``zookeeper-pom.xml``."""
    node = ET.parse(POM_PATH).getroot().find("m:properties/m:zookeeper.version", _POM_NS)
    if node is None or not (node.text or "").strip():
        raise ZooKeeperError(f"{POM_PATH}: no <zookeeper.version> property")
    return (node.text or "").strip()


def _cache_dir() -> Path:
    import os

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "valuenet" / f"zookeeper-{zookeeper_version()}"


def fetch_zookeeper_jars() -> Path:
    """The ``libs`` directory of ZooKeeper's jars, resolved with Maven on first use (then cached)."""
    cache = _cache_dir()
    libs = cache / "libs"
    cache.mkdir(parents=True, exist_ok=True)
    with locked(cache / ".lock"):
        if any(libs.glob("zookeeper-[0-9]*.jar")):
            return libs
        try:
            mvn = find_maven()
        except KafkaStackError as e:
            raise ZooKeeperError(str(e)) from e
        work = cache / "build"
        work.mkdir(exist_ok=True)
        shutil.copy2(POM_PATH, work / "pom.xml")
        staging = cache / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [mvn, "-B", "-q", "-f", str(work / "pom.xml"), "dependency:copy-dependencies"]
        cmd += [f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not any(staging.glob("zookeeper-[0-9]*.jar")):
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise ZooKeeperError(f"Maven could not resolve ZooKeeper's jars (exit {proc.returncode}):\n{tail}")
        staging.rename(libs)
        shutil.rmtree(work, ignore_errors=True)
        return libs


def _ruok(port: int) -> bool:
    """True when the server accepts a TCP connection on ``port`` (ZooKeeper's four-letter words are off by default)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class ZooKeeper:
    """Start, wait for and stop a standalone ZooKeeper on 127.0.0.1 (a temporary data dir, removed on stop)."""

    def __init__(self, port: int | None = None, *, heap: str = "128m", start_timeout: float = 60.0) -> None:
        self.port = port or free_port()
        self.heap = heap
        self.start_timeout = start_timeout
        self.data_dir = Path(tempfile.mkdtemp(prefix="valuenet-zookeeper-"))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> int:
        """Start the server and wait until it accepts connections; its port."""
        libs = fetch_zookeeper_jars()
        try:
            java = find_java()
        except KafkaStackError as e:
            raise ZooKeeperError(str(e)) from e
        out = open(self.data_dir / "zookeeper.log", "ab")
        self._process = subprocess.Popen(
            [
                java,
                f"-Xmx{self.heap}",
                "-Dzookeeper.admin.enableServer=false",
                "-cp",
                f"{libs}/*",
                "org.apache.zookeeper.server.ZooKeeperServerMain",
            ]
            + [str(self.port), str(self.data_dir / "data"), "1000"],  # tickTime 1 s: sessions down to 2 s
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        out.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ZooKeeperError(
                    f"ZooKeeper exited with {self._process.returncode}; see {self.data_dir}/zookeeper.log"
                )
            if _ruok(self.port):
                return self.port
            time.sleep(0.2)
        self.stop()
        raise ZooKeeperError(f"ZooKeeper did not listen within {self.start_timeout}s")

    def stop(self) -> None:
        """Stop the server and remove its data."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> int:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
