/* valuenet — the value-network graph: sigma.js (WebGL) on a graphology graph, laid out by
   ForceAtlas2 in a web worker (vendor/graph-libs.js, built from npm by frontend/build.mjs).
   Segments are node colours, flow types are edge colours, node size ∝ √PageRank, edge size ∝ log(weight).
   Labels go through sigma's label grid (no overlaps: at most one label per cell, biggest nodes first).
   Hover shows details, click (or search) focuses an actor: camera on it, its neighbours kept, the rest dimmed. */
(function () {
  "use strict";
  // segment and flow-type colours: window.VNPalette, served with the page (schemas/palette.py)
  const SEG = window.VNPalette.segments, FLOWCOL = window.VNPalette.flows;
  const FLOW = Object.fromEntries(Object.entries(FLOWCOL).map(([t, c]) => [t, [c, []]]));
  const DIM_NODE = "#e5e7eb", DIM_EDGE = "#f1f5f9";

  /** The colour ``hex`` at opacity ``a`` over white, as an opaque colour (WebGL blending washes out rgba). */
  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16), mix = c => Math.round(c * a + 255 * (1 - a));
    return `rgb(${mix((n >> 16) & 255)},${mix((n >> 8) & 255)},${mix(n & 255)})`;
  }

  const WORKER_URL = new URL("vendor/fa2-worker.js", document.currentScript.src).href;

  /** ForceAtlas2 in a web worker that runs as many iterations as fit in ``budgetMs`` per message. */
  class Layout {
    constructor(graph, settings, onStep, budgetMs = 150) {
      const L = window.VNLibs;
      this.L = L; this.graph = graph; this.onStep = onStep; this.budgetMs = budgetMs;
      this.settings = Object.assign({}, L.fa2Defaults, settings);
      this.worker = new Worker(WORKER_URL);
      this.worker.addEventListener("message", ev => this._message(ev));
      this.running = false;
    }
    start() {
      // edge weight: log(1 + flows), so a chatty pair does not collapse onto itself
      this.m = this.L.graphToByteArrays(this.graph, (e, a) => Math.log1p(a.weight || 1));
      this.running = true; this._ask(true);
    }
    _ask(withEdges) {
      const payload = { settings: this.settings, nodes: this.m.nodes.buffer, budgetMs: this.budgetMs }, buffers = [this.m.nodes.buffer];
      if (withEdges) { payload.edges = this.m.edges.buffer; buffers.push(this.m.edges.buffer); }
      this.worker.postMessage(payload, buffers);
    }
    _message(ev) {
      if (!this.running) return;
      // pipelined: the worker computes the next iterations while the page draws these positions
      const m = new Float32Array(ev.data.nodes), pos = m.slice();
      this.m.nodes = m;
      this._ask(false);
      this.L.assignLayoutChanges(this.graph, pos, null);
      this.onStep(ev.data.iterations);
    }
    isRunning() { return this.running; }
    kill() { this.running = false; this.worker.terminate(); }
  }

  const groupOf = d => (d.community != null && d.community >= 0 ? "c" + d.community : "s" + (d.segment || "unknown"));

  /** Centre and radius of each community's starting disc: area ∝ members, on a sunflower spiral. */
  function communityCentres(nodes) {
    const size = new Map();
    for (const d of nodes) { const k = groupOf(d); size.set(k, (size.get(k) || 0) + 1); }
    const out = new Map(), golden = Math.PI * (3 - Math.sqrt(5));
    let i = 0, area = 0;
    for (const [k, n] of [...size.entries()].sort((a, b) => b[1] - a[1])) {
      area += n;
      const rad = 12 * Math.sqrt(area), ang = i++ * golden;
      out.set(k, { x: Math.cos(ang) * rad, y: Math.sin(ang) * rad, r: 6 * Math.sqrt(n) });
    }
    return out;
  }

  class VNGraph {
    /** container: an element sigma renders into; opts.tip: tooltip element; opts.onClick(node): after a click focused it. */
    constructor(container, opts = {}) {
      const L = window.VNLibs;
      this.L = L;
      this.container = container;
      this.tip = opts.tip || null;
      this.onClick = opts.onClick || (() => {});
      this.onFocus = opts.onFocus || (() => {});
      this.graph = new L.MultiDirectedGraph();
      this.focus = null;      // Set of node ids in focus (searched or clicked actor + its neighbours)
      this.primary = null;    // the focused / marked actor
      this.hover = null;
      this.layout = null;
      this.stats = { nodes: 0, edges: 0, setDataMs: null, firstLayoutMs: null, layoutIterations: 0 };
      this.renderer = new L.Sigma(this.graph, container, {
        allowInvalidContainer: true,
        defaultEdgeType: "arrow",
        renderEdgeLabels: false,
        labelFont: "system-ui, sans-serif",
        labelSize: 12,
        labelWeight: "500",
        labelDensity: 0.7,
        labelGridCellSize: 100,
        labelRenderedSizeThreshold: 7,
        zIndex: true,
        minCameraRatio: 0.02,
        maxCameraRatio: 4,
        defaultDrawNodeLabel: (ctx, d, st) => this._drawLabel(ctx, d, st),
        nodeReducer: (n, d) => this._nodeReducer(n, d),
        edgeReducer: (e, d) => this._edgeReducer(e, d),
      });
      const r = this.renderer;
      r.on("enterNode", ({ node }) => { this.hover = node; this._showTip(node); r.refresh({ skipIndexation: true }); container.style.cursor = "pointer"; });
      r.on("leaveNode", () => { this.hover = null; if (this.tip) this.tip.hidden = true; r.refresh({ skipIndexation: true }); container.style.cursor = "grab"; });
      r.on("clickNode", ({ node }) => { this.focusOn(node); this.onClick(this.nodeData(node)); });
      r.on("clickStage", () => { if (this.focus) { this.clearFocus(); } });
      r.getMouseCaptor().on("mousemovebody", ev => { if (this.tip && !this.tip.hidden) this._placeTip(ev.x, ev.y); });
      // frame times: the last 120 render durations (ms), for the benchmark
      this.frames = [];
      r.on("beforeRender", () => { this._t0 = performance.now(); this._reserveLabels(); });
      r.on("afterRender", () => { this.frames.push(performance.now() - this._t0); if (this.frames.length > 120) this.frames.shift(); });
    }

    nodeData(id) { return Object.assign({ id }, this.graph.getNodeAttributes(id).data); }

    /** Replace the graph by these nodes and edges, keeping the positions of actors already shown. */
    setData(nodes, edges) {
      const t0 = performance.now(), g = this.graph, keep = new Map();
      g.forEachNode((id, a) => keep.set(id, [a.x, a.y]));
      const wasEmpty = keep.size === 0;
      this._stopLayout();
      g.clear();
      const n = nodes.length, maxPr = Math.max(1e-12, ...nodes.map(d => d.pagerank || 0));
      const big = n > 2000, minS = big ? 1.5 : 3, spanS = big ? 10 : 14;
      for (const d of nodes) {
        g.addNode(d.id, {
          label: d.name || d.id, color: SEG[d.segment] || SEG.unknown,
          size: minS + spanS * Math.sqrt((d.pagerank || 0) / maxPr), data: d, x: 0, y: 0,
        });
      }
      const maxW = Math.max(1, ...edges.map(e => e.weight || 1));
      for (const e of edges) {
        if (!g.hasNode(e.source) || !g.hasNode(e.target) || e.source === e.target) continue;
        g.addEdgeWithKey(`${e.source}\u0000${e.target}\u0000${e.type}`, e.source, e.target, {
          color: alpha(FLOWCOL[e.type] || "#999999", big ? 0.35 : 0.7), full: FLOWCOL[e.type] || "#999999", type: big ? "line" : "arrow",
          size: big ? 0.3 + 1.2 * Math.log1p(e.weight || 1) / Math.log1p(maxW) : 0.8 + 2.2 * Math.log1p(e.weight || 1) / Math.log1p(maxW),
          flow: e.type, weight: e.weight,
        });
      }
      // positions: kept ones stay; a newcomer starts beside a placed neighbour, or in its community's disc
      // (communities on a sunflower spiral, biggest in the middle), so the first frame already shows the groups
      let fresh = 0;
      const centres = communityCentres(nodes);
      g.forEachNode((id, a) => {
        const p = keep.get(id);
        if (p) { a.x = p[0]; a.y = p[1]; return; }
        fresh++;
        const nb = keep.size ? g.neighbors(id).find(m => keep.has(m)) : null;
        if (nb) { const q = keep.get(nb); a.x = q[0] + (Math.random() - 0.5) * 5; a.y = q[1] + (Math.random() - 0.5) * 5; return; }
        const c = centres.get(groupOf(a.data)), ang = Math.random() * 2 * Math.PI, rad = c.r * Math.sqrt(Math.random());
        a.x = c.x + Math.cos(ang) * rad; a.y = c.y + Math.sin(ang) * rad;
      });
      if (this.primary && !g.hasNode(this.primary)) this.clearFocus(true);
      else if (this.primary) this._setFocusSet(this.primary);
      // big graphs: pan and zoom draw nodes only (edges come back when the camera stops)
      this.renderer.setSetting("hideEdgesOnMove", g.size > 8000);
      this.renderer.setSetting("labelRenderedSizeThreshold", big ? 9 : 7);
      this.stats = { nodes: g.order, edges: g.size, setDataMs: performance.now() - t0, firstLayoutMs: null, layoutIterations: 0 };
      // big graphs: nodes only while the layout moves them (edges return when it stops)
      this.edgesHidden = !!fresh && g.size > 8000 && g.order > 1;
      this.renderer.refresh();
      if (fresh) this._startLayout(t0, wasEmpty || fresh > n / 3 ? 1 : 0.3);
      else this.stats.firstLayoutMs = performance.now() - t0;
      return this.stats;
    }

    /** ForceAtlas2 in a web worker for a time budget (longer for bigger graphs and cold starts). */
    _startLayout(t0, heat) {
      const g = this.graph, L = this.L;
      if (g.order < 2) { this.stats.firstLayoutMs = performance.now() - t0; return; }
      const settings = Object.assign(L.forceAtlas2.inferSettings(g), {
        barnesHutOptimize: g.order > 1000, adjustSizes: false, outboundAttractionDistribution: true, slowDown: 1 + Math.log10(g.order),
      });
      if (g.order <= 600 && heat === 1) L.forceAtlas2.assign(g, { iterations: 60, settings }); // a readable first frame at once
      // big graphs: a redraw costs more than an iteration, so the page draws about once a second
      // (the first step sooner) and the worker iterates in between
      const layout = new Layout(g, settings, n => {
        if (g.order > 2000) layout.budgetMs = 1000;
        this.stats.layoutIterations += n;
        (this.stats.steps = this.stats.steps || []).push([Math.round(performance.now() - t0), n]);
        if (this.stats.firstLayoutMs == null) {
          this.stats.firstLayoutMs = performance.now() - t0;
          if (!this.primary) this.fit(false);
        }
      });
      this.layout = layout;
      layout.start();
      const budget = heat * Math.min(1500 + 0.6 * g.order, 9000);
      this._layoutTimer = setTimeout(() => { this._stopLayout(); if (!this.primary && heat === 1) this.fit(true); }, budget);
    }

    _stopLayout() {
      clearTimeout(this._layoutTimer);
      if (this.layout) { this.layout.kill(); this.layout = null; }
      if (this.edgesHidden) { this.edgesHidden = false; this.renderer.refresh({ skipIndexation: true }); }
    }

    get layoutRunning() { return !!(this.layout && this.layout.isRunning()); }

    fit(animate = true) {
      const cam = this.renderer.getCamera();
      if (animate) cam.animatedReset({ duration: 300 }); else cam.setState({ x: 0.5, y: 0.5, ratio: 1, angle: 0 });
    }

    zoom(f) {
      const cam = this.renderer.getCamera();
      if (f > 1) cam.animatedZoom({ duration: 200, factor: f }); else cam.animatedUnzoom({ duration: 200, factor: 1 / f });
    }

    /** Keep this actor and its neighbours, dim the rest, put the camera on it. */
    focusOn(id, ratio = null) {
      if (!this.graph.hasNode(id)) return;
      this._setFocusSet(id);
      this.renderer.refresh({ skipIndexation: true });
      const d = this.renderer.getNodeDisplayData(id), cam = this.renderer.getCamera();
      if (d) this.focusDone = cam.animate({ x: d.x, y: d.y, ratio: ratio || Math.min(cam.ratio, this.graph.order > 300 ? 0.35 : 0.7) }, { duration: 400 });
      this.onFocus(this.nodeData(id));
    }

    _setFocusSet(id) {
      this.primary = id;
      this.focus = new Set([id, ...this.graph.neighbors(id)]);
    }

    clearFocus(silent) {
      this.primary = null; this.focus = null;
      if (!silent) { this.renderer.refresh({ skipIndexation: true }); this.onFocus(null); }
    }

    /** The ego view: this actor stays marked. */
    mark(id) { if (this.graph.hasNode(id)) { this._setFocusSet(id); this.focus = null; this.renderer.refresh({ skipIndexation: true }); } }

    /** Matches by id or display name; focuses the best one (highest PageRank). Returns the number of matches. */
    search(text) {
      const q = (text || "").trim().toLowerCase();
      if (!q) { this.clearFocus(); return 0; }
      const hits = [];
      this.graph.forEachNode((id, a) => { if (id.toLowerCase().includes(q) || (a.data.name || "").toLowerCase().includes(q)) hits.push([a.size, id]); });
      if (!hits.length) { this.clearFocus(); return 0; }
      hits.sort((a, b) => b[0] - a[0]);
      this.focusOn(hits[0][1]);
      return hits.length;
    }

    _nodeReducer(id, d) {
      const hl = this.hover ? new Set([this.hover]) : null;
      if (id === this.primary || id === this.hover) return Object.assign({}, d, { highlighted: true, forceLabel: true, zIndex: 2 });
      if (this.hover && this.graph.areNeighbors(this.hover, id)) return Object.assign({}, d, { forceLabel: this.graph.order < 3000, zIndex: 1 });
      if (this.focus && this.focus.has(id) && !this.hover) return Object.assign({}, d, { forceLabel: this.focus.size <= 40, zIndex: 1 });
      if ((this.focus && !this.focus.has(id)) || (hl && !hl.has(id))) return Object.assign({}, d, { color: DIM_NODE, label: "", zIndex: 0 });
      return d;
    }

    _edgeReducer(e, d) {
      if (this.edgesHidden) return Object.assign({}, d, { hidden: true });
      const g = this.graph, center = this.hover || (this.focus ? this.primary : null);
      if (!center) return d;
      const [s, t] = g.extremities(e);
      if (s === center || t === center) return Object.assign({}, d, { color: d.full, zIndex: 1 });
      return this.graph.size > 20000 ? Object.assign({}, d, { hidden: true }) : Object.assign({}, d, { color: DIM_EDGE, zIndex: 0 });
    }

    /** Label boxes of this frame: the forced labels (focused, hovered actors) first, so they always fit. */
    _reserveLabels() {
      this._boxes = [];
      this._reserved = new Set();
      const r = this.renderer, ids = [];
      if (this.primary) ids.push(this.primary);
      if (this.hover) ids.push(this.hover, ...(this.graph.order < 3000 ? this.graph.neighbors(this.hover) : []));
      else if (this.focus && this.focus.size <= 40) ids.push(...this.focus);
      const ctx = r.getCanvases().labels.getContext("2d"), st = r.getSettings();
      ctx.font = `${st.labelWeight} ${st.labelSize}px ${st.labelFont}`;
      for (const id of ids) {
        const d = this.graph.hasNode(id) && r.getNodeDisplayData(id);
        if (!d || this._reserved.has(id)) continue;
        const p = r.framedGraphToViewport(d);
        this._boxes.push(this._box(ctx, p.x, p.y, r.scaleSize(d.size), d.label || "", st.labelSize));
        this._reserved.add(id);
      }
    }

    _box(ctx, x, y, size, label, fontSize) {
      const x0 = x + size + 3, w = ctx.measureText(label).width;
      return [x0 - 2, y + fontSize / 3 - fontSize, x0 + w + 2, y + fontSize / 3 + 3];
    }

    /** Draw a label unless it would overlap one already drawn in this frame (labels never collide). */
    _drawLabel(ctx, d, st) {
      if (!d.label) return;
      ctx.font = `${st.labelWeight} ${st.labelSize}px ${st.labelFont}`;
      if (!this._reserved || !this._reserved.has(d.key)) {
        const b = this._box(ctx, d.x, d.y, d.size, d.label, st.labelSize);
        const boxes = this._boxes || (this._boxes = []);
        for (const o of boxes) if (b[0] < o[2] && b[2] > o[0] && b[1] < o[3] && b[3] > o[1]) return;
        boxes.push(b);
      }
      const x = d.x + d.size + 3, y = d.y + st.labelSize / 3;
      ctx.lineWidth = 3; ctx.strokeStyle = "rgba(255,255,255,0.85)"; ctx.strokeText(d.label, x, y);
      ctx.fillStyle = "#111827"; ctx.fillText(d.label, x, y);
    }

    _showTip(id) {
      if (!this.tip) return;
      const n = this.nodeData(id), t = this.tip;
      t.textContent = "";
      const b = document.createElement("b"); b.textContent = n.name ? `${n.name} (${n.id})` : n.id; t.appendChild(b);
      t.appendChild(document.createTextNode(` · ${n.segment}${n.team ? " / " + n.team : ""}`));
      t.appendChild(document.createElement("br"));
      t.appendChild(document.createTextNode(`PageRank ${(n.pagerank || 0).toFixed(4)} · betweenness ${(n.betweenness || 0).toFixed(4)} · reach ${n.reach || 0} · flows ${(n.strength || 0).toLocaleString("en")}`));
      t.hidden = false;
      const p = this.renderer.framedGraphToViewport(this.renderer.getNodeDisplayData(id));
      this._placeTip(p.x, p.y);
    }

    _placeTip(x, y) {
      const w = this.container.clientWidth;
      this.tip.style.left = Math.min(x + 14, w - 270) + "px"; this.tip.style.top = (y + 12) + "px";
    }

    kill() { this._stopLayout(); this.renderer.kill(); }
  }
  VNGraph.SEG = SEG; VNGraph.FLOW = FLOW;
  window.VNGraph = VNGraph;
})();
