#!/usr/bin/env bash
# Static checks, run by scripts/test.sh (and so by CI) before pytest; each one runs, any failure fails:
#   ruff check (lint), ruff format --check (format), mypy (types, [tool.mypy]), lint-imports (layers, [tool.importlinter]),
#   mkdocs build --strict (the docs site in docs/: a broken link or a page missing from the nav fails).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
failed=()
run() {
  local name=$1
  shift
  printf '==> %s\n' "$name"
  if ! "$@"; then failed+=("$name"); fi
}
run "ruff check" .venv/bin/ruff check .
run "ruff format --check" .venv/bin/ruff format --check .
run "mypy" .venv/bin/mypy
run "lint-imports" .venv/bin/lint-imports --no-cache
docs() {  # --quiet would hide (and so not count) the warnings that --strict turns into failures
  local out rc
  out=$(.venv/bin/mkdocs build --strict --site-dir "${TMPDIR:-/tmp}/valuenet-docs-site" 2>&1)
  rc=$?
  grep -v '^INFO' <<<"$out" || true
  return $rc
}
run "docs (mkdocs --strict)" docs
if [ ${#failed[@]} -gt 0 ]; then
  echo "error: static checks failed: ${failed[*]}" >&2
  exit 1
fi
echo "static checks passed"
