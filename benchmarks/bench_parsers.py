"""Parse-and-normalise throughput per source, events/s per core (CPU time), against json.loads alone.

Run: ``python benchmarks/bench_parsers.py [--repeats 5] [--events 20000]``.
Each source's corpus is its typical payloads (test fixtures cycled; the bundled git sample for
git) as JSON text; one "event" is one raw payload decoded and parsed into Interactions with a
ParentIndex. The last row, ``synth mix``, is a synthetic company's stream (``SynthNetwork(seed=7,
actors=500)``: Bluesky, Slack, Mastodon, GitHub, Discourse, Zendesk payloads in event order), each
parsed as its own source. Prints progress, then per source the median events/s and interactions/s over the
repeats and the ratio to the json.loads-only baseline over the same bytes. Times are this
process's CPU time (``time.process_time``), so a busy shared machine does not count against it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from itertools import cycle, islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from valuenet.ingest.parents import ParentIndex  # noqa: E402
from valuenet.ingest.parsers.registry import parse_payload  # noqa: E402
from valuenet.ingest.readers import read_payloads  # noqa: E402
from valuenet.ingest.samples import git_sample  # noqa: E402
from valuenet.ingest.synth import SynthNetwork  # noqa: E402
from valuenet.schemas import Source  # noqa: E402

FIX = ROOT / "tests" / "payloads"
RECEIVED = datetime(2024, 6, 10, tzinfo=UTC)


def _files(directory: str, pattern: str = "*.json", skip: tuple[str, ...] = ()) -> list[object]:
    return [json.loads(p.read_text()) for p in sorted((FIX / directory).glob(pattern)) if p.name not in skip]


def corpora() -> dict[str, tuple[list[object], dict[str, str]]]:
    """Typical payloads per source and the headers they arrive with."""
    gh_events = {
        "issues_opened": "issues",
        "issue_comment_created": "issue_comment",
        "pull_request_review_submitted": "pull_request_review",
        "pull_request_review_comment_created": "pull_request_review_comment",
    }
    return {
        "git": (list(git_sample()), {}),
        "github": ([json.loads((FIX / "github" / f"{n}.json").read_text()) for n in gh_events], {}),
        "slack": (
            _files("slack", skip=("url_verification.json",)) + list(read_payloads(FIX / "slack" / "export", "slack")),
            {},
        ),
        "discourse": (_files("discourse", skip=("headers.json", "topic_created.json")), {}),
        "mastodon": (
            _files("mastodon") + list(read_payloads(FIX / "mastodon" / "stream_frames.jsonl", "mastodon"))[:3],
            {},
        ),
        "bluesky": (list(read_payloads(FIX / "bluesky" / "jetstream.jsonl", "bluesky")), {}),
        "reddit": (
            list(read_payloads(FIX / "reddit" / "listing.json", "reddit"))
            + list(read_payloads(FIX / "reddit" / "dump.ndjson", "reddit")),
            {},
        ),
        "x": (
            [
                {"data": t, "includes": json.loads((FIX / "x" / "response.json").read_text())["includes"]}
                for t in json.loads((FIX / "x" / "response.json").read_text())["data"]
            ],
            {},
        ),
        "teams": (_files("teams"), {}),
        "jira": (_files("jira"), {}),
        "zendesk": (_files("zendesk"), {}),
        "generic": (
            list(read_payloads(FIX / "generic" / "forum.csv", "generic")),
            {"x-valuenet-mapping": str(FIX / "generic" / "forum.yaml")},
        ),
    }


def _lines(payloads: list[object], n: int) -> list[str]:
    return [json.dumps(p) for p in islice(cycle(payloads), n)]


def bench_baseline(lines: list[str]) -> float:
    """Seconds for json.loads over every line."""
    loads = json.loads
    t = time.process_time()
    for line in lines:
        loads(line)
    return time.process_time() - t


def bench_parse(source: Source, lines: list[str], headers: dict[str, str]) -> tuple[float, int]:
    """Seconds and interactions for json.loads + parse over every line (fresh ParentIndex)."""
    loads = json.loads
    parents = ParentIndex()
    produced = 0
    t = time.process_time()
    for line in lines:
        produced += len(
            parse_payload(source, loads(line), network="bench", received_at=RECEIVED, headers=headers, parents=parents)
        )
    return time.process_time() - t, produced


def mix_corpus(n: int) -> tuple[list[str], list[Source], list[dict[str, str]]]:
    """A synthetic network's first ``n`` payloads as JSON text, with their sources and headers."""
    envs = list(SynthNetwork(seed=7, actors=500).envelopes(n))
    return [json.dumps(e.payload) for e in envs], [e.source for e in envs], [e.headers for e in envs]


def bench_mix(lines: list[str], sources: list[Source], headers: list[dict[str, str]]) -> tuple[float, int]:
    """Seconds and interactions for json.loads + parse of a mixed stream (fresh ParentIndex)."""
    loads = json.loads
    parents = ParentIndex()
    produced = 0
    t = time.process_time()
    for line, source, hdrs in zip(lines, sources, headers, strict=True):
        produced += len(
            parse_payload(source, loads(line), network="bench", received_at=RECEIVED, headers=hdrs, parents=parents)
        )
    return time.process_time() - t, produced


def main() -> None:
    """Run every source, print progress and a table of medians."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--only", nargs="*", default=None, help="sources to run (default: all)")
    args = ap.parse_args()
    rows = []
    for name, (payloads, headers) in corpora().items():
        if args.only and name not in args.only:
            continue
        lines = _lines(payloads, args.events)
        source = Source(name)
        parse_payload(source, json.loads(lines[0]), network="bench", headers=headers)  # import + warm up
        base, full, inter = [], [], 0
        for r in range(args.repeats):
            base.append(bench_baseline(lines))
            secs, inter = bench_parse(source, lines, headers)
            full.append(secs)
            print(
                f"  {name:<10} repeat {r + 1}/{args.repeats}: {len(lines) / secs:>10,.0f} events/s",
                file=sys.stderr,
                flush=True,
            )
        b, f = statistics.median(base), statistics.median(full)
        rows.append((name, len(lines) / f, inter / f, len(lines) / b, f / b, inter / len(lines)))
    if not args.only or "mix" in args.only:
        lines, sources, hdrs = mix_corpus(args.events)
        bench_mix(lines[:200], sources[:200], hdrs[:200])  # imports + warm up
        base, full = [], []
        for r in range(args.repeats):
            base.append(bench_baseline(lines))
            secs, inter = bench_mix(lines, sources, hdrs)
            full.append(secs)
            print(f"  synth mix  repeat {r + 1}/{args.repeats}: {len(lines) / secs:>10,.0f} events/s", file=sys.stderr)
        b, f = statistics.median(base), statistics.median(full)
        rows.append(("synth mix", len(lines) / f, inter / f, len(lines) / b, f / b, inter / len(lines)))
    print(
        f"\n{'source':<10} {'events/s':>11} {'interactions/s':>15} {'json.loads/s':>13} {'cost×loads':>10} {'inter/event':>11}"
    )
    for name, eps, ips, bps, ratio, per in rows:
        print(f"{name:<10} {eps:>11,.0f} {ips:>15,.0f} {bps:>13,.0f} {ratio:>10.1f} {per:>11.2f}")
    print(
        f"\n{args.events:,} payloads per source, median of {args.repeats} repeats, CPU time of one process (one core)."
    )


if __name__ == "__main__":
    main()
