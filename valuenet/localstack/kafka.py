"""The managed local Apache Kafka broker: fetch its jars with Maven, format KRaft storage, start, probe, stop.

One single-node KRaft broker (broker and controller in one JVM) per ``VALUENET_HOME``,
listening on ``127.0.0.1:<kafka_port>`` (controller on ``kafka_port + 1``).

Layout::

    ~/.cache/valuenet/kafka-<version>/libs/   jars (outside the repository; $XDG_CACHE_HOME honoured)
    $VALUENET_HOME/kafka/server.properties    written on every start
    $VALUENET_HOME/kafka/data/                KRaft metadata and topic logs (formatted once)
    $VALUENET_HOME/kafka/kafka.pid            pid of the running broker
    $VALUENET_HOME/logs/kafka.log             broker log (log4j2, rolled); kafka.out: JVM stdout/stderr

With ``KAFKA_BOOTSTRAP_SERVERS`` set nothing is started or stopped: that cluster is used.

    >>> bootstrap = ensure_broker(get_settings())   # doctest: +SKIP
    '127.0.0.1:19092'
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict

from valuenet.config import Settings
from valuenet.localstack.kafka_jars import (
    KafkaStackError,
    classpath,
    fetch_jars,
    find_java,
    find_maven,
    jar_cache_dir,
    jars_present,
    kafka_version,
    locked,
)

__all__ = [
    "KafkaStackError",
    "BrokerPaths",
    "BrokerStatus",
    "kafka_version",
    "jar_cache_dir",
    "find_java",
    "find_maven",
    "fetch_jars",
    "jars_present",
    "controller_port",
    "server_properties",
    "format_storage",
    "probe",
    "managed_pid",
    "start_broker",
    "ensure_broker",
    "stop_broker",
    "broker_status",
]

LOG4J_CONFIG = Path(__file__).resolve().parent / "log4j2.properties"
NODE_ID = 1


@dataclass(frozen=True)
class BrokerPaths:
    """Where one ``VALUENET_HOME`` keeps its managed broker's files."""

    home: Path
    kafka_dir: Path
    data_dir: Path
    config_file: Path
    pid_file: Path
    lock_file: Path
    logs_dir: Path
    log_file: Path
    stdout_file: Path

    @classmethod
    def for_settings(cls, settings: Settings) -> BrokerPaths:
        """The paths under ``settings.home``."""
        home = Path(settings.home).expanduser()
        kafka_dir = home / "kafka"
        logs_dir = home / "logs"
        return cls(
            home=home,
            kafka_dir=kafka_dir,
            data_dir=kafka_dir / "data",
            config_file=kafka_dir / "server.properties",
            pid_file=kafka_dir / "kafka.pid",
            lock_file=kafka_dir / ".lock",
            logs_dir=logs_dir,
            log_file=logs_dir / "kafka.log",
            stdout_file=logs_dir / "kafka.out",
        )


@dataclass
class BrokerStatus:
    """What ``valuenet kafka status`` reports."""

    mode: Literal["managed", "external"]
    bootstrap: str
    responding: bool
    pid: int | None = None
    cluster_id: str | None = None
    brokers: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    version: str | None = None
    log_file: Path | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        d = dict(self.__dict__)
        d["log_file"] = str(self.log_file) if self.log_file else None
        return d


# ---------------------------------------------------------------- config and storage


def controller_port(settings: Settings) -> int:
    """The KRaft controller listener port: the broker port plus one."""
    return settings.kafka_port + 1


def server_properties(settings: Settings) -> dict[str, str]:
    """The broker's ``server.properties``: single-node KRaft on 127.0.0.1, small and quick to rebalance."""
    paths = BrokerPaths.for_settings(settings)
    port, cport = settings.kafka_port, controller_port(settings)
    return {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@127.0.0.1:{cport}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(paths.data_dir),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # A restart re-registers the same node id: a short session lets the old registration expire fast.
        "broker.heartbeat.interval.ms": "1000",
        "broker.session.timeout.ms": "4000",
        "auto.create.topics.enable": "true",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "log.retention.hours": "168",
        "log.segment.bytes": str(256 * 1024 * 1024),
    }


def _write_properties(path: Path, props: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{k}={v}\n" for k, v in props.items())
    path.write_text("# Written by `valuenet kafka start`; edits are overwritten.\n" + body)


def _jvm_args(settings: Settings, paths: BrokerPaths, *, tool: bool = False) -> list[str]:
    """JVM options: the broker gets G1 and full JIT; a short-lived tool JVM gets C1 only and the serial GC."""
    tuning = (
        ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
        if tool
        else ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:+ExitOnOutOfMemoryError"]
    )
    return [
        f"-Xmx{settings.kafka_heap}",
        *tuning,
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        f"-Dkafka.logs.dir={paths.logs_dir}",
        "-cp",
        classpath(),
    ]


def _new_cluster_id() -> str:
    """A Kafka ``Uuid`` string: 16 random bytes, URL-safe base64 without padding, not starting with '-'."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def format_storage(settings: Settings, java: str) -> str | None:
    """Format the KRaft log directory once (``kafka.tools.StorageTool format``); return the new cluster id.

    Returns None when ``data/meta.properties`` already exists (formatted before).
    """
    paths = BrokerPaths.for_settings(settings)
    if (paths.data_dir / "meta.properties").is_file():
        return None
    cluster_id = _new_cluster_id()
    cmd = [
        java,
        *_jvm_args(settings, paths, tool=True),
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id,
        "-c",
        str(paths.config_file),
        "--ignore-formatted",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        raise KafkaStackError(
            f"kafka.tools.StorageTool format failed (exit {proc.returncode}):\n"
            f"{(proc.stdout + proc.stderr).strip()[-2000:]}"
        )
    return cluster_id


# ---------------------------------------------------------------- processes


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def _first_server(bootstrap: str) -> tuple[str, int]:
    first = bootstrap.split(",")[0].strip()
    first = first.split("://")[-1]
    host, _, port = first.rpartition(":")
    return (host.strip("[]") or "127.0.0.1"), int(port or 9092)


class ClusterInfo(TypedDict):
    """What a metadata request tells about a running cluster."""

    cluster_id: str | None
    brokers: list[str]
    topics: list[str]


def probe(bootstrap: str, timeout: float = 5.0) -> ClusterInfo | None:
    """Send a metadata request; return ``{cluster_id, brokers, topics}`` or None when nobody answers."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    if "," not in bootstrap and not _port_open(*_first_server(bootstrap), timeout=min(timeout, 1.0)):
        return None
    ms = int(timeout * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="valuenet-probe",
            request_timeout_ms=ms,
            bootstrap_timeout_ms=ms,
            reconnect_backoff_max_ms=500,
        )
    except (KafkaError, OSError, ValueError):
        return None
    try:
        cluster = admin.describe_cluster()
        topics = sorted(admin.list_topics())
    except (KafkaError, OSError):
        return None
    finally:
        admin.close()
    brokers = [f"{b['host']}:{b['port']}" for b in cluster.get("brokers", [])]
    if not brokers:
        return None
    return {"cluster_id": cluster.get("cluster_id"), "brokers": brokers, "topics": topics}


def _proc_state(pid: int) -> str | None:
    """Process state letter from /proc (None if gone); reaps our own zombie children."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        if not Path("/proc/self").exists():  # no procfs: fall back to signal 0
            try:
                os.kill(pid, 0)
            except OSError:
                return None
            return "R"
        return None
    return stat.rpartition(")")[2].split()[0]


def _is_our_broker(pid: int, paths: BrokerPaths) -> bool:
    state = _proc_state(pid)
    if state is None or state in ("Z", "X"):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return True  # no procfs: trust the pid file
    return "kafka.Kafka" in cmdline and str(paths.config_file) in cmdline


def managed_pid(settings: Settings) -> int | None:
    """Pid of this home's running managed broker, or None (a stale pid file is removed)."""
    paths = BrokerPaths.for_settings(settings)
    try:
        pid = int(paths.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if _is_our_broker(pid, paths):
        return pid
    with contextlib.suppress(OSError):
        paths.pid_file.unlink()
    return None


def _log_tail(paths: BrokerPaths, lines: int = 30) -> str:
    out = []
    for f in (paths.stdout_file, paths.log_file):
        with contextlib.suppress(OSError):
            text = f.read_text(errors="replace").strip().splitlines()[-lines:]
            if text:
                out.append(f"--- {f}\n" + "\n".join(text))
    return "\n".join(out)


def start_broker(settings: Settings, *, timeout: float = 120.0, jvm_opts: Sequence[str] = ()) -> bool:
    """Start this home's broker unless it already answers; return True if this call started it.

    ``jvm_opts`` (and the environment variable ``VALUENET_KAFKA_JVM_OPTS``, split on spaces) are added
    to the broker's JVM options, e.g. ``-XX:TieredStopAtLevel=1`` for a quicker start in tests.

    Fetches the jars when missing, formats storage once, launches ``kafka.Kafka`` detached (own session),
    writes the pid file and waits until the broker answers a metadata request.
    Raises KafkaStackError when ``KAFKA_BOOTSTRAP_SERVERS`` is set, Java/Maven is missing,
    the port is taken by something that is not Kafka, or the broker dies or does not answer in time.
    """
    if settings.kafka_bootstrap_servers:
        raise KafkaStackError(
            f"KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap_servers} is set: that cluster is used, nothing to start."
        )
    paths = BrokerPaths.for_settings(settings)
    bootstrap = settings.bootstrap_servers
    with locked(paths.lock_file):
        pid = managed_pid(settings)
        if pid is not None:
            _wait_ready(bootstrap, pid, paths, timeout)
            return False
        if probe(bootstrap, timeout=5.0) is not None:
            return False  # a Kafka broker from elsewhere already answers on this port: reuse it
        for port in (settings.kafka_port, controller_port(settings)):
            if _port_open("127.0.0.1", port):
                raise KafkaStackError(
                    f"port {port} on 127.0.0.1 is in use by something that is not a Kafka broker; "
                    f"choose another with VALUENET_KAFKA_PORT (the controller uses the next port)."
                )
        java = find_java()
        fetch_jars()
        _write_properties(paths.config_file, server_properties(settings))
        format_storage(settings, java)
        paths.logs_dir.mkdir(parents=True, exist_ok=True)
        with open(paths.stdout_file, "ab") as out:
            proc = subprocess.Popen(
                [
                    java,
                    *_jvm_args(settings, paths),
                    *os.environ.get("VALUENET_KAFKA_JVM_OPTS", "").split(),
                    *jvm_opts,
                    "kafka.Kafka",
                    str(paths.config_file),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=paths.kafka_dir,
            )
        paths.pid_file.write_text(f"{proc.pid}\n")
        try:
            _wait_ready(bootstrap, proc.pid, paths, timeout)
        except KafkaStackError:
            _terminate(proc.pid, 10.0)
            with contextlib.suppress(OSError):
                paths.pid_file.unlink()
            raise
        return True


def _wait_ready(bootstrap: str, pid: int, paths: BrokerPaths, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _proc_state(pid) in (None, "Z", "X"):
            raise KafkaStackError(f"the Kafka broker (pid {pid}) exited during start-up.\n{_log_tail(paths)}")
        if probe(bootstrap, timeout=3.0) is not None:
            return
        time.sleep(0.5)
    raise KafkaStackError(
        f"the Kafka broker (pid {pid}) did not answer on {bootstrap} within {timeout:.0f}s.\n{_log_tail(paths)}"
    )


def ensure_broker(settings: Settings, *, create_topics: bool = True, timeout: float = 120.0) -> str:
    """Return the bootstrap servers to use, starting the managed broker first if needed.

    With ``KAFKA_BOOTSTRAP_SERVERS`` set that cluster is returned untouched (apart from topic creation).
    ``create_topics`` makes sure valuenet.raw/flows/metrics/dlq exist with their partition counts.
    """
    if not settings.kafka_bootstrap_servers:
        start_broker(settings, timeout=timeout)
    bootstrap = settings.bootstrap_servers
    if create_topics:
        from valuenet.kafka_admin import ensure_topics

        ensure_topics(
            bootstrap,
            prefix=settings.topic_prefix,
            max_message_bytes=settings.max_message_bytes,
            dlq_retention_ms=settings.dlq_retention_ms,
        )
    return bootstrap


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _proc_state(pid) in (None, "Z", "X"):
            _proc_state(pid)
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        if _proc_state(pid) in (None, "Z", "X"):
            return
        time.sleep(0.1)


def stop_broker(settings: Settings, *, timeout: float = 30.0) -> bool:
    """Stop this home's managed broker (SIGTERM, wait ``timeout`` s, then SIGKILL); True if one was running.

    Does nothing (returns False) with ``KAFKA_BOOTSTRAP_SERVERS`` set or when no managed broker runs.
    """
    if settings.kafka_bootstrap_servers:
        return False
    paths = BrokerPaths.for_settings(settings)
    with locked(paths.lock_file):
        pid = managed_pid(settings)
        if pid is None:
            return False
        _terminate(pid, timeout)
        with contextlib.suppress(OSError):
            paths.pid_file.unlink()
        return True


def broker_status(settings: Settings, *, timeout: float = 5.0) -> BrokerStatus:
    """Whether the configured cluster answers, and the managed broker's pid, log and version."""
    bootstrap = settings.bootstrap_servers
    info = probe(bootstrap, timeout=timeout)
    if settings.kafka_bootstrap_servers:
        status = BrokerStatus(
            mode="external",
            bootstrap=bootstrap,
            responding=info is not None,
            detail="KAFKA_BOOTSTRAP_SERVERS is set; the managed broker is not used",
        )
    else:
        paths = BrokerPaths.for_settings(settings)
        pid = managed_pid(settings)
        detail = ""
        if info is not None and pid is None:
            detail = "a broker answers on this port but it was not started from this VALUENET_HOME"
        elif info is None and pid is not None:
            detail = "the process runs but does not answer yet"
        status = BrokerStatus(
            mode="managed",
            bootstrap=bootstrap,
            responding=info is not None,
            pid=pid,
            version=kafka_version(),
            log_file=paths.log_file,
            detail=detail,
        )
    if info is not None:
        status.cluster_id = str(info["cluster_id"])
        status.brokers = list(info["brokers"])
        status.topics = list(info["topics"])
    return status
