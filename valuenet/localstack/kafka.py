"""The managed local Apache Kafka broker: fetch its jars with Maven, format KRaft storage, start, probe, stop.

A KRaft cluster of N nodes (``valuenet kafka start --brokers N``, ``VALUENET_KAFKA_BROKERS``; 1 by
default), each one JVM that is both broker and controller, per ``VALUENET_HOME``. Node ``i`` (1..N)
listens on ``127.0.0.1:<kafka_port + 2(i-1)>``, its controller on the next port; every node lists all N
as ``controller.quorum.voters`` and is formatted with the same cluster id (``kafka/cluster.json``).
With N >= 3 topics get 3 replicas and ``min.insync.replicas`` 2 (``kafka_admin.ensure_topics``).

Layout::

    ~/.cache/valuenet/kafka-<version>/libs/   jars (outside the repository; $XDG_CACHE_HOME honoured)
    $VALUENET_HOME/kafka/server.properties    written on every start
    $VALUENET_HOME/kafka/data/                KRaft metadata and topic logs (formatted once)
    $VALUENET_HOME/kafka/kafka.pid            pid of the running broker
    $VALUENET_HOME/logs/kafka.log             broker log (log4j2, rolled); kafka.out: JVM stdout/stderr
    $VALUENET_HOME/kafka/cluster.json         {"brokers": N, "cluster_id": ...} of this home's cluster
    $VALUENET_HOME/kafka/node-<i>/            node i >= 2: its server.properties, data/, kafka.pid
    $VALUENET_HOME/logs/kafka-node-<i>/       node i >= 2: its kafka.log and kafka.out

With ``KAFKA_BOOTSTRAP_SERVERS`` set nothing is started or stopped: that cluster is used.

    >>> bootstrap = ensure_broker(get_settings())   # doctest: +SKIP
    '127.0.0.1:19092'
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
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
    "NodeStatus",
    "node_port",
    "cluster_size",
    "node_pids",
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
    def for_settings(cls, settings: Settings, node: int = NODE_ID) -> BrokerPaths:
        """The paths of node ``node`` under ``settings.home`` (node 1 keeps the single-broker layout)."""
        home = Path(settings.home).expanduser()
        kafka_dir = home / "kafka"
        logs_dir = home / "logs"
        if node != NODE_ID:
            kafka_dir, logs_dir = kafka_dir / f"node-{node}", logs_dir / f"kafka-node-{node}"
        return cls(
            home=home,
            kafka_dir=kafka_dir,
            data_dir=kafka_dir / "data",
            config_file=kafka_dir / "server.properties",
            pid_file=kafka_dir / "kafka.pid",
            lock_file=home / "kafka" / ".lock",
            logs_dir=logs_dir,
            log_file=logs_dir / "kafka.log",
            stdout_file=logs_dir / "kafka.out",
        )


@dataclass
class NodeStatus:
    """One node of the managed cluster: its id, client port, pid and whether it answers as a broker."""

    node_id: int
    port: int
    controller_port: int
    pid: int | None
    alive: bool


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
    nodes: list[NodeStatus] = field(default_factory=list)
    under_replicated: list[str] = field(default_factory=list)  # "topic/partition: isr [..] of replicas [..]"

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        d = dict(self.__dict__)
        d["log_file"] = str(self.log_file) if self.log_file else None
        d["nodes"] = [dict(n.__dict__) for n in self.nodes]
        return d


# ---------------------------------------------------------------- config and storage


def node_port(settings: Settings, node: int = NODE_ID) -> int:
    """Client (PLAINTEXT) port of node ``node``: ``kafka_port + 2 (node - 1)``."""
    return settings.kafka_port + 2 * (node - 1)


def controller_port(settings: Settings, node: int = NODE_ID) -> int:
    """The KRaft controller listener port of node ``node``: its client port plus one."""
    return node_port(settings, node) + 1


def _sized(settings: Settings, brokers: int | None) -> Settings:
    """``settings`` with ``kafka_brokers`` set to ``brokers`` (unchanged when None)."""
    if brokers is None or brokers == settings.kafka_brokers:
        return settings
    if brokers < 1:
        raise KafkaStackError(f"--brokers must be at least 1, got {brokers}")
    return settings.model_copy(update={"kafka_brokers": brokers})


def server_properties(settings: Settings, node: int = NODE_ID) -> dict[str, str]:
    """Node ``node``'s ``server.properties``: KRaft on 127.0.0.1 with all ``kafka_brokers`` nodes as voters."""
    paths = BrokerPaths.for_settings(settings, node)
    port, cport = node_port(settings, node), controller_port(settings, node)
    n = settings.kafka_brokers
    rf = str(min(3, n))
    isr = "2" if n >= 3 else "1"
    voters = ",".join(f"{i}@127.0.0.1:{controller_port(settings, i)}" for i in range(1, n + 1))
    return {
        "process.roles": "broker,controller",
        "node.id": str(node),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(paths.data_dir),
        "num.partitions": "1",
        "default.replication.factor": rf,
        "min.insync.replicas": isr,
        "offsets.topic.replication.factor": rf,
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": isr,
        # a lost replica is fenced (and leaves the ISR) after broker.session.timeout.ms; a slow one after this
        "replica.lag.time.max.ms": "10000",
        "unclean.leader.election.enable": "false",
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


def format_storage(settings: Settings, java: str, node: int = NODE_ID, cluster_id: str | None = None) -> str | None:
    """Format node ``node``'s KRaft log directory once (``kafka.tools.StorageTool format``); return the cluster id.

    ``cluster_id`` (a new one when None) must be the same on every node of a cluster.
    Returns None when ``data/meta.properties`` already exists (formatted before).
    """
    paths = BrokerPaths.for_settings(settings, node)
    if (paths.data_dir / "meta.properties").is_file():
        return None
    cluster_id = cluster_id or _new_cluster_id()
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


def managed_pid(settings: Settings, node: int = NODE_ID) -> int | None:
    """Pid of this home's running managed node ``node``, or None (a stale pid file is removed)."""
    paths = BrokerPaths.for_settings(settings, node)
    try:
        pid = int(paths.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if _is_our_broker(pid, paths):
        return pid
    with contextlib.suppress(OSError):
        paths.pid_file.unlink()
    return None


def _cluster_file(settings: Settings) -> Path:
    return Path(settings.home).expanduser() / "kafka" / "cluster.json"


def _read_cluster(settings: Settings) -> dict[str, object]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(_cluster_file(settings).read_text())
        if isinstance(data, dict):
            return data
    return {}


def cluster_size(settings: Settings) -> int | None:
    """How many nodes this home's cluster was formatted with (None: never started; 1 for a single-broker home)."""
    size = _read_cluster(settings).get("brokers")
    if isinstance(size, int) and size >= 1:
        return size
    if (BrokerPaths.for_settings(settings).data_dir / "meta.properties").is_file():
        return 1  # formatted before cluster.json existed: the single broker
    return None


def node_pids(settings: Settings) -> dict[int, int | None]:
    """Node id → pid of the running process (None when down), for every node of this home's cluster."""
    n = cluster_size(settings) or settings.kafka_brokers
    return {i: managed_pid(settings, i) for i in range(1, n + 1)}


def _log_tail(paths: BrokerPaths, lines: int = 30) -> str:
    out = []
    for f in (paths.stdout_file, paths.log_file):
        with contextlib.suppress(OSError):
            text = f.read_text(errors="replace").strip().splitlines()[-lines:]
            if text:
                out.append(f"--- {f}\n" + "\n".join(text))
    return "\n".join(out)


def _launch(settings: Settings, node: int, java: str, jvm_opts: Sequence[str]) -> int:
    """Start node ``node``'s JVM detached (own session) and write its pid file; return the pid."""
    paths = BrokerPaths.for_settings(settings, node)
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
    return proc.pid


def start_broker(
    settings: Settings, *, timeout: float = 120.0, jvm_opts: Sequence[str] = (), brokers: int | None = None
) -> bool:
    """Start this home's cluster of ``brokers`` nodes (default ``kafka_brokers``) unless all answer; True if any started.

    ``jvm_opts`` (and the environment variable ``VALUENET_KAFKA_JVM_OPTS``, split on spaces) are added
    to the brokers' JVM options, e.g. ``-XX:TieredStopAtLevel=1`` for a quicker start in tests.

    Fetches the jars when missing, formats each node's storage once with the cluster's one id, launches
    every node that is not running (a node that died is restarted alone), writes the pid files and waits
    until every node answers as a broker. Raises KafkaStackError when ``KAFKA_BOOTSTRAP_SERVERS`` is set,
    the home holds a cluster of another size, Java/Maven is missing, a port is taken by something that is
    not this cluster, or a node dies or the cluster does not answer in time.
    """
    if settings.kafka_bootstrap_servers:
        raise KafkaStackError(
            f"KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap_servers} is set: that cluster is used, nothing to start."
        )
    settings = _sized(settings, brokers)
    n = settings.kafka_brokers
    bootstrap = settings.bootstrap_servers
    lock = BrokerPaths.for_settings(settings).lock_file
    lock.parent.mkdir(parents=True, exist_ok=True)
    with locked(lock):
        recorded = cluster_size(settings)
        if recorded is not None and recorded != n:
            raise KafkaStackError(
                f"VALUENET_HOME={settings.home} holds a Kafka cluster of {recorded} broker(s), not {n}: "
                f"start it with --brokers {recorded} (VALUENET_KAFKA_BROKERS={recorded}), or stop it and use another VALUENET_HOME "
                f"(or remove {Path(settings.home).expanduser() / 'kafka'} to drop its data)."
            )
        pids = {i: managed_pid(settings, i) for i in range(1, n + 1)}
        down = [i for i, pid in pids.items() if pid is None]
        if not down:
            _wait_ready(settings, {i: p for i, p in pids.items() if p is not None}, timeout)
            return False
        if n == 1 and probe(bootstrap, timeout=5.0) is not None:
            return False  # a Kafka broker from elsewhere already answers on this port: reuse it
        for i in down:
            for port in (node_port(settings, i), controller_port(settings, i)):
                if _port_open("127.0.0.1", port):
                    raise KafkaStackError(
                        f"port {port} on 127.0.0.1 (node {i}) is in use by something that is not this home's "
                        f"Kafka node; choose another range with VALUENET_KAFKA_PORT (node i uses "
                        f"VALUENET_KAFKA_PORT + 2(i-1) and the port after it)."
                    )
        java = find_java()
        fetch_jars()
        cluster_id = str(_read_cluster(settings).get("cluster_id") or "") or None
        if cluster_id is None and n == 1:
            cluster_id = format_storage_id(settings)
        cluster_id = cluster_id or _new_cluster_id()
        for i in down:
            _write_properties(BrokerPaths.for_settings(settings, i).config_file, server_properties(settings, i))
        with ThreadPoolExecutor(max_workers=len(down)) as pool:  # the format tools run side by side
            list(pool.map(lambda i: format_storage(settings, java, i, cluster_id), down))
        _cluster_file(settings).write_text(json.dumps({"brokers": n, "cluster_id": cluster_id}) + "\n")
        started = {i: _launch(settings, i, java, jvm_opts) for i in down}
        try:
            _wait_ready(settings, {**{i: p for i, p in pids.items() if p is not None}, **started}, timeout)
        except KafkaStackError:
            for pid in started.values():
                _terminate(pid, 10.0)
            for i in down:
                with contextlib.suppress(OSError):
                    BrokerPaths.for_settings(settings, i).pid_file.unlink()
            raise
        return True


def format_storage_id(settings: Settings) -> str | None:
    """The cluster id in node 1's ``meta.properties`` (a home formatted before ``cluster.json``), else None."""
    meta = BrokerPaths.for_settings(settings).data_dir / "meta.properties"
    with contextlib.suppress(OSError):
        for line in meta.read_text().splitlines():
            if line.startswith("cluster.id="):
                return line.partition("=")[2].strip() or None
    return None


def _wait_ready(settings: Settings, pids: dict[int, int], timeout: float) -> None:
    """Wait until every node's process (``pids``: node → pid) runs and the cluster reports all as brokers."""
    n = settings.kafka_brokers
    bootstrap = settings.bootstrap_servers
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for i, pid in pids.items():  # the pid itself: a JVM just forked may not show kafka.Kafka in its cmdline yet
            if _proc_state(pid) in (None, "Z", "X"):
                paths = BrokerPaths.for_settings(settings, i)
                raise KafkaStackError(f"Kafka node {i} (pid {pid}) exited during start-up.\n{_log_tail(paths)}")
        info = probe(bootstrap, timeout=3.0)
        if info is not None and len(info["brokers"]) >= n:
            return
        time.sleep(0.5)
    paths = BrokerPaths.for_settings(settings)
    raise KafkaStackError(
        f"the Kafka cluster did not answer with {n} broker(s) on {bootstrap} within {timeout:.0f}s.\n{_log_tail(paths)}"
    )


def ensure_broker(settings: Settings, *, create_topics: bool = True, timeout: float = 120.0) -> str:
    """Return the bootstrap servers to use, starting the managed cluster first if needed.

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
    """Stop every node of this home's managed cluster (SIGTERM, wait ``timeout`` s, then SIGKILL); True if one ran.

    Does nothing (returns False) with ``KAFKA_BOOTSTRAP_SERVERS`` set or when no managed node runs.
    """
    if settings.kafka_bootstrap_servers:
        return False
    lock = BrokerPaths.for_settings(settings).lock_file
    if not lock.parent.is_dir():
        return False
    with locked(lock):
        pids = {i: pid for i, pid in node_pids(settings).items() if pid is not None}
        for pid in pids.values():  # SIGTERM all first: the nodes shut down together, not one quorum at a time
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for i, pid in pids.items():
            _terminate(pid, timeout)
            with contextlib.suppress(OSError):
                BrokerPaths.for_settings(settings, i).pid_file.unlink()
        return bool(pids)


def broker_status(settings: Settings, *, timeout: float = 5.0) -> BrokerStatus:
    """Whether the configured cluster answers; each managed node's pid and state; under-replicated partitions."""
    if not settings.kafka_bootstrap_servers:
        settings = _sized(settings, cluster_size(settings))
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
        pids = node_pids(settings)
        pid = pids.get(NODE_ID)
        answering = set(info["brokers"]) if info is not None else set()
        nodes = [
            NodeStatus(
                node_id=i,
                port=node_port(settings, i),
                controller_port=controller_port(settings, i),
                pid=p,
                alive=p is not None and f"127.0.0.1:{node_port(settings, i)}" in answering,
            )
            for i, p in pids.items()
        ]
        detail = ""
        if info is not None and not any(pids.values()):
            detail = "a broker answers on this port but it was not started from this VALUENET_HOME"
        elif info is None and any(pids.values()):
            detail = "the process runs but does not answer yet"
        elif any(not node.alive for node in nodes) and info is not None:
            detail = "some brokers are down: " + ", ".join(str(node.node_id) for node in nodes if not node.alive)
        status = BrokerStatus(
            mode="managed",
            bootstrap=bootstrap,
            responding=info is not None,
            pid=pid,
            version=kafka_version(),
            log_file=paths.log_file,
            detail=detail,
            nodes=nodes,
        )
    if info is not None:
        status.cluster_id = str(info["cluster_id"])
        status.brokers = list(info["brokers"])
        status.topics = list(info["topics"])
        from valuenet.kafka_admin import under_replicated

        try:
            status.under_replicated = under_replicated(bootstrap, timeout_s=timeout)
        except Exception as e:  # noqa: BLE001 - a cluster that lost its quorum may not describe topics
            status.detail = "; ".join(filter(None, [status.detail, f"could not describe topics: {e}"]))
    return status
