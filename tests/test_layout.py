"""Packaging: the wheel installs one top-level name, ``valuenet``, with its data files inside."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# what a build reads: the package folders (symlinked into valuenet/) and the project files
SOURCES = ["valuenet", "schemas", "ingest", "processors", "analytics", "pyproject.toml", "README.md"]
DATA_FILES = [
    "valuenet/ingest/samples/git-history-sample.jsonl.gz",
    "valuenet/ingest/samples/git-directory.yaml",
    "valuenet/schemas/json/flow.json",
    "valuenet/schemas/clickhouse/flows.sql",
    "valuenet/processors/classify/corpus.jsonl",
    "valuenet/web/static/index.html",
    "valuenet/web/static/app.js",
    "valuenet/web/static/style.css",
    "valuenet/web/static/vendor/swagger-ui/LICENSE",
]


def _build_wheel(tmp_path: Path) -> zipfile.ZipFile:
    src = tmp_path / "src"
    for name in SOURCES:  # a copy, so the build's build/ and egg-info never touch the working tree
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules")
            shutil.copytree(ROOT / name, src / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = out.glob("valuenet-*.whl")
    return zipfile.ZipFile(wheel)


def test_wheel_installs_only_valuenet_with_its_data(tmp_path: Path) -> None:
    with _build_wheel(tmp_path) as wheel:
        names = wheel.namelist()
        top = {n.split("/", 1)[0] for n in names}
        assert {t for t in top if not t.endswith(".dist-info")} == {"valuenet"}
        assert wheel.read(next(n for n in names if n.endswith("top_level.txt"))).decode().split() == ["valuenet"]
        for sub in ("schemas", "ingest", "processors", "analytics", "pipeline", "web", "commands"):
            assert f"valuenet/{sub}/__init__.py" in names, sub
        missing = [f for f in DATA_FILES if f not in names]
        assert not missing, missing
        # every DDL and JSON schema of the source tree is in the wheel
        for folder, pattern in (("schemas/clickhouse", "*.sql"), ("schemas/json", "*.json")):
            for f in (ROOT / folder).glob(pattern):
                assert f"valuenet/{folder}/{f.name}" in names, f.name
