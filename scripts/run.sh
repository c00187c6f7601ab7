#!/usr/bin/env bash
# Set up what is missing, then run the main job: `valuenet up` (local Kafka unless KAFKA_BOOTSTRAP_SERVERS
# is set, a worker with the API and dashboard, and a replay of the bundled sample). Ctrl-C stops it all.
# Extra arguments go to `valuenet up`, e.g. `bash scripts/run.sh --rate 500`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec .venv/bin/valuenet up "$@"
