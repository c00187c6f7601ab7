"""The dashboard's graph view on a large network in headless Chromium: time to first layout and frame times.

A graph with community structure (``--actors`` nodes, ``--edges`` distinct giver → receiver → type
edges, 85 % inside 40 groups) goes to the graph view (sigma.js WebGL + ForceAtlas2 in a web
worker, ``valuenet/web/static/graph.js``) on a page served from ``valuenet/web/static``. Measured per
repeat, medians printed:

- ``setData``: building the graphology graph and sigma's index (main thread, blocks the page);
- first layout: from ``setData`` to the first ForceAtlas2 step drawn;
- layout steps/s while the worker runs (``--layout-ms``);
- frame interval and sigma's render time while the camera pans and zooms (an animated move, as
  a wheel or a drag makes), after the layout stopped: edges are hidden while the camera moves
  above 8,000 edges, as sigma.js recommends; then the time of a full redraw with every edge.

Baseline in the same run: the previous renderer (a hand-written canvas force simulation, from git
commit a99c843, ``git show`` is needed) on the same graph: time to its first frame and its frame
interval (its layout runs on the main thread, one O(n²) step per frame).

Chromium runs with ``--disable-gpu`` (software WebGL, SwiftShader), as in the tests; a real GPU
is much faster. Figures depend on the load of the machine: read them next to the baseline.

    python benchmarks/bench_graph_view.py [--actors 10000] [--edges 50000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._graph_page import EXTRA, frame_times, graph_page_server, load_graph, random_graph

CHROMIUM = dict(
    executable_path="/usr/bin/chromium",
    headless=True,
    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
)
BASELINE_COMMIT = "a99c843"

BASELINE_JS = """async ([g, frames]) => {
  const cv = document.getElementById("c"), t0 = performance.now();
  const vg = new VNGraph(cv, {});
  vg.setData(g.nodes, g.edges);
  const setDataMs = performance.now() - t0, gaps = [];
  let last = performance.now();
  for (let i = 0; i < frames; i++) { await new Promise(r => requestAnimationFrame(r)); const now = performance.now(); gaps.push(now - last); last = now; }
  vg.alpha = 0;
  return { setDataMs, firstFrameMs: setDataMs + gaps[0], gaps };
}"""


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main() -> None:
    """Run the measurements and print the medians."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actors", type=int, default=10_000)
    ap.add_argument("--edges", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--move-ms", type=int, default=3000, help="camera animation measured per repeat")
    ap.add_argument("--layout-ms", type=int, default=5000, help="let ForceAtlas2 run this long before the frames")
    ap.add_argument("--baseline-frames", type=int, default=5)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    print(f"graph: {args.actors:,} actors, {args.edges:,} edges …", flush=True)
    graph = random_graph(args.actors, args.edges)
    rows: list[dict] = []
    base: list[dict] = []
    if not args.no_baseline:
        old = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:valuenet/web/static/graph.js"],
            capture_output=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout
        EXTRA["/baseline-graph.js"] = ("text/javascript", old)
    with graph_page_server() as url, sync_playwright() as p:
        browser = p.chromium.launch(**CHROMIUM)
        for r in range(args.repeats):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            t = time.perf_counter()
            st = load_graph(page, graph, args.layout_ms)
            wall = time.perf_counter() - t
            rate = st["layoutIterations"] / (args.layout_ms / 1000 + (st["firstLayoutMs"] or 0) / 1000)
            page.wait_for_function("() => !window.vg.layoutRunning", timeout=60_000)
            fr = frame_times(page, args.move_ms)
            row = {**st, **fr, "layout_steps_per_s": rate, "wall_s": wall}
            rows.append(row)
            print(
                f"repeat {r + 1}/{args.repeats}: setData {st['setDataMs']:.0f} ms · first layout "
                f"{st['firstLayoutMs']:.0f} ms · {rate:.1f} layout steps/s · frame interval median "
                f"{fr['frameGapMedianMs']:.0f} ms (p95 {fr['frameGapP95Ms']:.0f}) · render median "
                f"{fr['renderMedianMs']:.1f} ms · full redraw {fr['fullRedrawMedianMs']:.0f} ms",
                flush=True,
            )
            page.close()
            if not args.no_baseline:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(url.replace("/graph.html", "/baseline.html"))
                b = page.evaluate(BASELINE_JS, [graph, args.baseline_frames])
                base.append(b)
                print(
                    f"  baseline (canvas renderer of {BASELINE_COMMIT}): setData {b['setDataMs']:.0f} ms · first frame "
                    f"{b['firstFrameMs']:.0f} ms · frame interval median {_median(b['gaps'][1:]):.0f} ms",
                    flush=True,
                )
                page.close()
        browser.close()

    print(f"\nmedians over {len(rows)} repeats ({args.actors:,} actors, {args.edges:,} edges, software WebGL):")
    print(f"  sigma.js  setData            {_median([x['setDataMs'] for x in rows]):8.0f} ms")
    print(f"  sigma.js  first layout       {_median([x['firstLayoutMs'] for x in rows]):8.0f} ms")
    print(f"  sigma.js  layout steps/s     {_median([x['layout_steps_per_s'] for x in rows]):8.1f}")
    print(f"  sigma.js  frame interval     {_median([x['frameGapMedianMs'] for x in rows]):8.0f} ms (camera moving)")
    print(f"  sigma.js  frame p95          {_median([x['frameGapP95Ms'] for x in rows]):8.0f} ms")
    print(f"  sigma.js  render (CPU side)  {_median([x['renderMedianMs'] for x in rows]):8.1f} ms")
    print(f"  sigma.js  full redraw        {_median([x['fullRedrawMedianMs'] for x in rows]):8.0f} ms (every edge)")
    if base:
        print(f"  baseline  first frame        {_median([b['firstFrameMs'] for b in base]):8.0f} ms")
        print(
            f"  baseline  frame interval     {_median([_median(b['gaps'][1:]) for b in base]):8.0f} ms (layout step + draw)"
        )


if __name__ == "__main__":
    main()
