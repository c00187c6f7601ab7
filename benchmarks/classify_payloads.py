"""Flow types of the real payloads (tests/payloads/MANIFEST.json) and of the parser fixtures (tests/payloads/<platform>/*.json).

For each MANIFEST interaction with an expected flow type: right or wrong, and a *false flow*
(a value flow — knowledge, idea, reputation — where none is expected). For every text-bearing
interaction of the fixtures: its flow type and reason, to read by eye or diff between two commits.

    python benchmarks/classify_payloads.py [--list]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers import parse_payload
from valuenet.processors.classify import classify
from valuenet.schemas import Kind

TESTS = Path(__file__).parents[1] / "tests"
TEXT = {Kind.post, Kind.reply, Kind.mention, Kind.quote, Kind.ticket}


def main() -> None:
    """Print the MANIFEST score and (with --list) every text-bearing decision."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="list every text-bearing interaction's decision")
    args = ap.parse_args()
    cases = json.loads((TESTS / "payloads/MANIFEST.json").read_text())["cases"]
    right = wrong = false_flows = 0
    for case in cases:
        if "expected" not in case:
            continue
        payload = json.loads((TESTS / "payloads" / case["file"]).read_text())
        out = parse_payload(case["source"], payload, network="n", parents=ParentIndex(), headers=case.get("headers"))
        for it, want in zip(out, case["expected"]):
            c = classify(it)
            if want[4] is None:
                continue
            ok = c.flow_type.value == want[4]
            right += ok
            wrong += not ok
            false_flows += want[4] == "none" and c.flow_type.value != "none"
            if not ok or args.list:
                print(
                    f"{'ok ' if ok else 'BAD'} {case['file']} {it.kind.value}: want {want[4]} got {c.flow_type.value} ({c.reason})"
                )
    print(f"MANIFEST: {right} of {right + wrong} expected flow types right, {false_flows} false flows")
    if not args.list:
        return
    for path in sorted((TESTS / "payloads").glob("*/*.json")):
        source = path.parent.name
        try:
            payload = json.loads(path.read_text())
            out = parse_payload(source, payload, network="n", parents=ParentIndex())
        except Exception as e:  # noqa: BLE001 - fixtures that need headers or are not events
            print(f"fixture {path.relative_to(TESTS)}: not parsed alone ({type(e).__name__})")
            continue
        for it in out:
            if it.kind in TEXT:
                c = classify(it)
                text = " ".join((it.text or "").split())[:70]
                print(
                    f"fixture {path.relative_to(TESTS)} {it.kind.value}: {c.flow_type.value} ({c.reason[:60]}) | {text}"
                )


if __name__ == "__main__":
    main()
