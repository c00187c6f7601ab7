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


def remote_servers_xml(name: str, ports: list[int], password: str = "", host: str = "127.0.0.1") -> str:
    """``<remote_servers>`` naming one cluster ``name`` with one shard (one replica) per port."""
    shards = "".join(
        f"<shard><replica><host>{escape(host)}</host><port>{port}</port>"
        f"<user>default</user><password>{escape(password)}</password></replica></shard>"
        for port in ports
    )
    return f"<remote_servers><{name}>{shards}</{name}></remote_servers>"


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
    """

    def __init__(
        self,
        shards: int = 2,
        *,
        name: str = "valuenet",
        data_dir: Path | str | None = None,
        password: str = "",
        max_memory: int = 1_000_000_000,
    ) -> None:
        if shards < 1:
            raise ValueError("shards must be >= 1")
        self.name = name
        root = Path(data_dir) if data_dir else None
        ports: list[int] = []
        while len(ports) < shards:
            port = free_port()
            if port not in ports:
                ports.append(port)
        extra = remote_servers_xml(name, ports, password)
        self.servers = [
            ClickHouseServer(
                (root / f"shard{i + 1}") if root else Path(tempfile.mkdtemp(prefix=f"valuenet-ch-shard{i + 1}-")),
                tcp_port=port,
                password=password,
                max_memory=max_memory,
                extra_config=extra,
            )
            for i, port in enumerate(ports)
        ]
        if root is None:
            for server in self.servers:
                server._owns_dir = True  # a temporary directory: removed on stop

    @property
    def urls(self) -> list[str]:
        """One ``clickhouse://…/default`` URL per shard, in shard order."""
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

    def kill(self, shard: int) -> None:
        """SIGKILL the server of ``shard`` (1-based); its data directory stays for :meth:`restart`."""
        server = self.servers[shard - 1]
        process, server._process = server._process, None
        if process is not None:
            process.kill()
            process.wait(30)

    def restart(self, shard: int) -> str:
        """Start the server of ``shard`` again on its port and data; its URL."""
        return self.servers[shard - 1].start()

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
