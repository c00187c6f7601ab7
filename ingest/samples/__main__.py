"""``python -m valuenet.ingest.samples SOURCE.jsonl.gz``: rebuild the bundled git sample."""

import sys
from pathlib import Path

from valuenet.ingest.samples import build_git_sample

print(build_git_sample(Path(sys.argv[1])))
