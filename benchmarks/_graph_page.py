"""A page with the dashboard's graph view alone, a synthetic graph of any size, and its measurements.

Shared by ``benchmarks/bench_graph_view.py`` and ``tests/test_browser.py``: a static HTTP server on
127.0.0.1 serves ``valuenet/web/static`` and one page holding a graph container; :func:`random_graph`
builds a graph with community structure (the shape of a real value network); :func:`load_graph`
hands it to the renderer in the page and returns the renderer's timings.
"""

from __future__ import annotations

import functools
import http.server
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from valuenet.schemas.palette import page_head

STATIC = Path(__file__).resolve().parent.parent / "valuenet" / "web" / "static"
SEGMENTS = ("workforce", "partner", "customer", "influencer", "unknown")
TYPES = ("knowledge", "idea", "reputation")

PAGE = (
    '<!doctype html><html><head><meta charset="utf-8">'
    + page_head()  # the palette (window.VNPalette), as the dashboard page gets it
    + """<link rel="stylesheet" href="/static/style.css">
<style>body{margin:0} .graph-wrap{height:800px}</style></head><body>
<div class="graph-wrap"><div id="g" class="graph-host"></div><div id="tip" class="tip" hidden></div></div>
<script src="/static/vendor/graph-libs.js"></script><script src="/static/graph.js"></script>
</body></html>"""
)


BASELINE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/static/style.css">
<style>body{margin:0} .graph-wrap{height:800px}</style></head><body>
<div class="graph-wrap"><canvas id="c"></canvas></div><script src="/baseline-graph.js"></script></body></html>"""

#: extra routes: path → (content type, body), e.g. the previous canvas renderer for a baseline
EXTRA: dict[str, tuple[str, bytes]] = {"/baseline.html": ("text/html; charset=utf-8", BASELINE_PAGE.encode())}


class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        route = self.path.split("?")[0]
        if route in EXTRA:
            ctype, body = EXTRA[route]
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if route in ("/", "/graph.html"):
            body = PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.startswith("/static/"):
            self.path = self.path[len("/static") :]
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def graph_page_server() -> Iterator[str]:
    """Serve the graph page on a free port of 127.0.0.1; yield its URL."""
    handler = functools.partial(_Handler, directory=str(STATIC))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/graph.html"
    finally:
        srv.shutdown()
        srv.server_close()


def random_graph(actors: int, edges: int, *, communities: int = 40, seed: int = 1) -> dict[str, list[dict]]:
    """``actors`` nodes in ``communities`` groups and ``edges`` distinct (giver, receiver, type) edges, 85 % inside a group."""
    rng = random.Random(seed)
    group = [rng.randrange(communities) for _ in range(actors)]
    members: dict[int, list[int]] = {}
    for i, g in enumerate(group):
        members.setdefault(g, []).append(i)
    nodes = [
        {
            "id": f"a{i}",
            "name": f"Actor {i}",
            "segment": SEGMENTS[group[i] % len(SEGMENTS)],
            "team": f"team{group[i]}",
            "pagerank": rng.paretovariate(1.5) / actors,
            "betweenness": rng.random() / 100,
            "reach": rng.randrange(50),
            "community": group[i],
            "strength": 0,
        }
        for i in range(actors)
    ]
    seen: set[tuple[int, int, str]] = set()
    out: list[dict] = []
    while len(out) < edges:
        s = rng.randrange(actors)
        t = rng.choice(members[group[s]]) if rng.random() < 0.85 else rng.randrange(actors)
        kind = rng.choice(TYPES)
        if s == t or (s, t, kind) in seen:
            continue
        seen.add((s, t, kind))
        w = 1 + int(rng.paretovariate(2.0))
        nodes[s]["strength"] += w
        nodes[t]["strength"] += w
        out.append({"source": f"a{s}", "target": f"a{t}", "type": kind, "weight": w})
    return {"nodes": nodes, "edges": out}


LOAD_JS = """async ([g, layoutWaitMs]) => {
  if (window.vg) window.vg.kill();
  const vg = window.vg = new VNGraph(document.getElementById("g"), { tip: document.getElementById("tip") });
  const stats = vg.setData(g.nodes, g.edges);
  const t0 = performance.now();
  while (stats.firstLayoutMs == null && performance.now() - t0 < 60000) await new Promise(r => setTimeout(r, 10));
  await new Promise(r => setTimeout(r, layoutWaitMs));
  return Object.assign({}, vg.stats, { layoutRunning: vg.layoutRunning });
}"""

FRAMES_JS = """async ([ms, redraws]) => {
  // interaction: an animated pan + zoom of the camera (as a wheel or drag does) for ``ms``; time between
  // animation frames; then ``redraws`` full redraws with every edge (what a camera stop or a data update costs)
  const vg = window.vg, cam = vg.renderer.getCamera(), s = cam.getState(), gaps = [], full = [];
  const raf = () => new Promise(r => requestAnimationFrame(r));
  vg.frames.length = 0;
  let done = false, last = performance.now();
  cam.animate({ x: s.x + 0.05, y: s.y - 0.03, ratio: s.ratio * 0.4 }, { duration: ms }).then(() => { done = true; });
  while (!done) { await raf(); const now = performance.now(); gaps.push(now - last); last = now; }
  const moving = [...vg.frames];
  for (let i = 0; i < redraws; i++) { const t = performance.now(); vg.renderer.refresh(); await raf(); await raf(); full.push(performance.now() - t); }
  cam.setState(s);
  const med = a => { const b = [...a].sort((x, y) => x - y); return b.length ? b[Math.floor(b.length / 2)] : null; };
  const p95 = a => { const b = [...a].sort((x, y) => x - y); return b.length ? b[Math.floor(b.length * 0.95)] : null; };
  return { frameGapMedianMs: med(gaps), frameGapP95Ms: p95(gaps), renderMedianMs: med(moving), frames: gaps.length, fullRedrawMedianMs: med(full) };
}"""


def load_graph(page: Any, graph: dict[str, list[dict]], layout_wait_ms: int = 0) -> dict[str, Any]:
    """Give ``graph`` to a new renderer in ``page``; wait for the first layout step (+ ``layout_wait_ms``); its stats."""
    return page.evaluate(LOAD_JS, [graph, layout_wait_ms])


def frame_times(page: Any, ms: int = 3000, redraws: int = 3) -> dict[str, Any]:
    """Pan and zoom the camera for ``ms``, then redraw fully ``redraws`` times; frame intervals and render times (ms)."""
    return page.evaluate(FRAMES_JS, [ms, redraws])
