"""A throwaway local ClickHouse cluster: N ``clickhouse-server`` processes (one per shard) on 127.0.0.1.

Every server's ``config.xml`` names all of them in ``<remote_servers>`` under one cluster name, so a
Distributed table on any node reaches every shard (no ZooKeeper: one replica per shard)::

    with ClickHouseCluster(shards=2, name="valuenet") as urls:    # one URL per shard
        store = ServerStore(urls[0], database="scratch", cluster="valuenet")
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import TracebackType
from xml.sax.saxutils import escape

from valuenet.localstack.clickhouse_server import ClickHouseServer, free_port

__all__ = ["ClickHouseCluster", "remote_servers_xml"]


def remote_servers_xml(
    name: str, ports: list[int] | list[list[int]], password: str = "", host: str = "127.0.0.1"
) -> str:
    """``<remote_servers>`` naming cluster ``name``: one shard per entry of ``ports`` (a port, or a list of
    replica ports; several replicas: ``internal_replication`` true, replication copies the rows)."""
    shards = []
    for shard in ports:
        replicas = shard if isinstance(shard, list) else [shard]
        internal = "<internal_replication>true</internal_replication>" if len(replicas) > 1 else ""
        shards.append(
            f"<shard>{internal}"
            + "".join(
                f"<replica><host>{escape(host)}</host><port>{port}</port>"
                f"<user>default</user><password>{escape(password)}</password></replica>"
                for port in replicas
            )
            + "</shard>"
        )
    return f"<remote_servers><{name}>{''.join(shards)}</{name}></remote_servers>"


class ClickHouseCluster:
    """Start and stop ``shards`` private ClickHouse servers that form cluster ``name``.

    Parameters
    ----------
    shards : int, default 2
    name : str, default "valuenet"
        The cluster name in ``remote_servers`` (``CLICKHOUSE_CLUSTER``).
    data_dir : Path, optional
        Parent of each server's directory (``shard1``, ``shard2``, …); default a temporary directory.
    max_memory : int, default 1_000_000_000
        Per server.
    replicas : int, default 1
        Servers per shard; more than one needs ``zookeeper_port`` (a running ZooKeeper on 127.0.0.1):
        each server gets the ``{shard}`` / ``{replica}`` macros and the ``<zookeeper>`` element.
    """

    def __init__(
        self,
        shards: int = 2,
        *,
        name: str = "valuenet",
        data_dir: Path | str | None = None,
        password: str = "",
        max_memory: int = 1_000_000_000,
        replicas: int = 1,
        zookeeper_port: int | None = None,
    ) -> None:
        if shards < 1 or replicas < 1:
            raise ValueError("shards and replicas must be >= 1")
        if replicas > 1 and zookeeper_port is None:
            raise ValueError("replicas > 1 need a ZooKeeper (zookeeper_port)")
        self.name = name
        root = Path(data_dir) if data_dir else None
        ports: list[int] = []
        while len(ports) < shards * replicas:
            port = free_port()
            if port not in ports:
                ports.append(port)
        layout = [ports[i * replicas : (i + 1) * replicas] for i in range(shards)]
        extra = remote_servers_xml(name, layout if replicas > 1 else ports, password)
        if zookeeper_port is not None:
            # a short session: a SIGKILLed replica's old session (its is_active node) expires soon after a restart
            extra += (
                f"<zookeeper><node><host>127.0.0.1</host><port>{zookeeper_port}</port></node>"
                "<session_timeout_ms>3000</session_timeout_ms></zookeeper>"
            )
        self.servers = []
        for i, port in enumerate(ports):
            shard, replica = i // replicas + 1, i % replicas + 1
            tag = f"shard{shard}" if replicas == 1 else f"shard{shard}-replica{replica}"
            macros = f"<macros><shard>{shard}</shard><replica>r{replica}</replica></macros>"
            if replicas > 1:  # replicas fetch each other's parts over the interserver HTTP port
                interserver = free_port()
                while interserver in ports:
                    interserver = free_port()
                macros += (
                    f"<interserver_http_host>127.0.0.1</interserver_http_host>"
                    f"<interserver_http_port>{interserver}</interserver_http_port>"
                )
            self.servers.append(
                ClickHouseServer(
                    (root / tag) if root else Path(tempfile.mkdtemp(prefix=f"valuenet-ch-{tag}-")),
                    tcp_port=port,
                    password=password,
                    max_memory=max_memory,
                    extra_config=extra + macros,
                )
            )
        self.replicas = replicas
        if root is None:
            for server in self.servers:
                server._owns_dir = True  # a temporary directory: removed on stop

    @property
    def urls(self) -> list[str]:
        """One ``clickhouse://…/default`` URL per server, in shard then replica order."""
        return [s.url for s in self.servers]

    def start(self) -> list[str]:
        """Start every server and wait until each answers; the URLs (stops them all if one fails)."""
        try:
            for server in self.servers:
                server.start()
        except BaseException:
            self.stop()
            raise
        return self.urls

    def kill(self, shard: int, replica: int = 1) -> None:
        """SIGKILL the server of ``shard`` / ``replica`` (1-based); its data directory stays for :meth:`restart`."""
        server = self.servers[(shard - 1) * self.replicas + replica - 1]
        process, server._process = server._process, None
        if process is not None:
            process.kill()
            process.wait(30)

    def restart(self, shard: int, replica: int = 1) -> str:
        """Start the server of ``shard`` / ``replica`` again on its port and data; its URL."""
        return self.servers[(shard - 1) * self.replicas + replica - 1].start()

    def stop(self) -> None:
        """Stop every server."""
        for server in self.servers:
            server.stop()

    def __enter__(self) -> list[str]:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
