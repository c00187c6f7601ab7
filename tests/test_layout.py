"""Packaging: the wheel installs one top-level name, ``valuenet``, with its data files inside."""

from __future__ import annotations

import ast
import re
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


def test_layers_point_down() -> None:
    """import-linter's contracts (pyproject.toml): no module imports a layer above its own."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 broken" in done.stdout


_SQL = re.compile(
    r"\b(SELECT|INSERT\s+INTO|ALTER\s+TABLE|CREATE\s+(TABLE|DATABASE)|DROP\s+(TABLE|DATABASE)|OPTIMIZE\s+TABLE)\b"
)


def _string_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string constant of a module except docstrings, with its line."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_every_sql_string_lives_in_analytics_storage() -> None:
    """The read model and the stores own SQL; CLI, API, feed, Prometheus, exports and the pipeline call them."""
    outside = []
    for folder in ("valuenet", "schemas", "ingest", "processors", "analytics"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if any(p.is_symlink() for p in [path, *path.parents] if p != ROOT and ROOT in p.parents):
                continue  # valuenet/<pkg> symlinks: the file is scanned under its own folder
            if rel.parts[:2] == ("analytics", "storage"):
                continue
            for line, text in _string_literals(ast.parse(path.read_text(encoding="utf-8"))):
                if _SQL.search(text):
                    outside.append(f"{rel}:{line}: {text.strip()[:60]}")
    assert outside == []
