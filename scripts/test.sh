#!/usr/bin/env bash
# Run the whole test suite: set up what is missing, the static checks (scripts/check.sh), then pytest. The tests' fixtures start and stop
# the services they use (the managed Kafka broker, a clickhouse-server on a free port).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/test_kafka_stack.py -x`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
bash scripts/check.sh
set +e
.venv/bin/python -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
