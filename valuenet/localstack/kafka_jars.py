"""Apache Kafka's jars for the managed broker: the pinned version, Java and Maven lookup, the Maven fetch.

``fetch_jars()`` runs ``mvn dependency:copy-dependencies`` on ``valuenet/localstack/pom.xml`` into
``$XDG_CACHE_HOME/valuenet/kafka-<version>/libs`` (default ``~/.cache/...``), outside the repository.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "KafkaStackError",
    "POM_PATH",
    "MIN_JAVA",
    "kafka_version",
    "jar_cache_dir",
    "jars_present",
    "classpath",
    "find_java",
    "find_maven",
    "fetch_jars",
    "locked",
]

HERE = Path(__file__).resolve().parent
POM_PATH = HERE / "pom.xml"
MIN_JAVA = 17
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
_COMPLETE = ".complete"


class KafkaStackError(RuntimeError):
    """The managed broker cannot be fetched, started or stopped; the message says why and what to do."""


def kafka_version(pom: Path = POM_PATH) -> str:
    """The Kafka version pinned in the repository's ``pom.xml`` (``<kafka.version>``)."""
    root = ET.parse(pom).getroot()
    node = root.find("m:properties/m:kafka.version", _POM_NS)
    version = (node.text or "").strip() if node is not None else ""
    if not version:
        raise KafkaStackError(f"{pom}: no <kafka.version> property")
    return version


def jar_cache_dir(version: str | None = None) -> Path:
    """``$XDG_CACHE_HOME/valuenet/kafka-<version>`` (default ``~/.cache/valuenet/kafka-<version>``)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "valuenet" / f"kafka-{version or kafka_version()}"


def _pom_digest() -> str:
    return hashlib.sha256(POM_PATH.read_bytes()).hexdigest()


def jars_present() -> bool:
    """True when the jars for the pinned pom are already in the cache."""
    stamp = jar_cache_dir() / "libs" / _COMPLETE
    return stamp.is_file() and stamp.read_text().strip() == _pom_digest()


def find_java() -> str:
    """Path of a Java 17+ ``java`` (``$JAVA_HOME/bin/java`` first, then ``PATH``); raises if none."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    found = shutil.which("java")
    if found:
        candidates.append(found)
    for java in candidates:
        if not os.access(java, os.X_OK):
            continue
        major = _java_major(java)
        if major is not None and major >= MIN_JAVA:
            return java
        raise KafkaStackError(
            f"{java} is Java {major}; the local Kafka broker needs Java {MIN_JAVA}+ "
            f"(Debian/Ubuntu: apt-get install openjdk-{MIN_JAVA}-jre-headless, or set JAVA_HOME)."
        )
    raise KafkaStackError(
        f"Java not found (no JAVA_HOME, no `java` on PATH). The local Kafka broker needs Java {MIN_JAVA}+: "
        f"apt-get install openjdk-{MIN_JAVA}-jre-headless — or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster."
    )


def _java_major(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def find_maven() -> str:
    """Path of ``mvn`` on ``PATH``; raises with an install hint if missing."""
    mvn = shutil.which("mvn")
    if not mvn:
        raise KafkaStackError(
            "Maven (`mvn`) not found on PATH; it fetches Apache Kafka's jars once: apt-get install maven "
            "— or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster."
        )
    return mvn


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (serialises start/stop/fetch across processes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def fetch_jars(*, force: bool = False) -> Path:
    """Resolve ``kafka_2.13`` and the log4j2 SLF4J binding with Maven into the cache; return the ``libs`` dir.

    Runs ``mvn dependency:copy-dependencies`` on a copy of the repository's ``pom.xml`` (so nothing is
    written into the repository); a stamp holding the pom's sha256 makes later calls free.
    """
    cache = jar_cache_dir()
    libs = cache / "libs"
    with locked(cache / ".lock"):
        if jars_present() and not force:
            return libs
        mvn = find_maven()
        work = cache / "build"
        work.mkdir(parents=True, exist_ok=True)
        shutil.copy2(POM_PATH, work / "pom.xml")
        staging = cache / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(work / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
            raise KafkaStackError(f"Maven could not resolve Kafka's jars (exit {proc.returncode}):\n{tail}")
        (staging / _COMPLETE).write_text(_pom_digest() + "\n")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        shutil.rmtree(work, ignore_errors=True)
        return libs


def classpath() -> str:
    """The JVM class path of the cached jars (``libs/*``)."""
    return str(jar_cache_dir() / "libs" / "*")
