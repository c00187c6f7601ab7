/* valuenet — a small force-directed graph on <canvas> (no dependencies).
   Segments are node colours, flow types are edge styles (colour + dash), edge width ∝ log(weight).
   Wheel zooms at the cursor, drag pans, drag a node to move it, hover for details, click to open. */
(function () {
  "use strict";
  const SEG = { workforce: "#10b981", partner: "#f59e0b", customer: "#3b82f6", influencer: "#ec4899", unknown: "#9ca3af" };
  const FLOW = { knowledge: ["#0284c7", []], idea: ["#ca8a04", [7, 4]], reputation: ["#9333ea", [2, 3]] };
  const OFFSET = { knowledge: -1, idea: 0, reputation: 1 };

  class VNGraph {
    constructor(canvas, opts = {}) {
      this.canvas = canvas;
      this.ctx = canvas.getContext("2d");
      this.tip = opts.tip || null;
      this.onClick = opts.onClick || (() => {});
      this.nodes = []; this.edges = []; this.byId = new Map();
      this.scale = 1; this.tx = 0; this.ty = 0;
      this.alpha = 0; this.highlight = null; this.hover = null; this.drag = null;
      this._bind();
      new ResizeObserver(() => this._resize()).observe(canvas.parentElement || canvas);
      this._resize();
    }

    _resize() {
      const r = this.canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
      this.w = Math.max(r.width, 50); this.h = Math.max(r.height, 50);
      this.canvas.width = this.w * dpr; this.canvas.height = this.h * dpr;
      this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      this.draw();
    }

    setData(nodes, edges) {
      const old = this.byId, n = nodes.length || 1;
      const maxPr = Math.max(1e-9, ...nodes.map(d => d.pagerank || 0));
      this.nodes = nodes.map((d, i) => {
        const prev = old.get(d.id);
        const a = 2 * Math.PI * i / n, rad = 40 + 8 * Math.sqrt(n);
        return Object.assign({}, d, {
          x: prev ? prev.x : Math.cos(a) * rad + (Math.random() - .5) * 10,
          y: prev ? prev.y : Math.sin(a) * rad + (Math.random() - .5) * 10,
          vx: 0, vy: 0, r: 6 + 14 * Math.sqrt((d.pagerank || 0) / maxPr),
        });
      });
      this.byId = new Map(this.nodes.map(d => [d.id, d]));
      this.edges = edges.filter(e => this.byId.has(e.source) && this.byId.has(e.target))
        .map(e => Object.assign({}, e, { s: this.byId.get(e.source), t: this.byId.get(e.target) }));
      const deg = new Map();
      this.edges.forEach(e => { deg.set(e.source, (deg.get(e.source) || 0) + 1); deg.set(e.target, (deg.get(e.target) || 0) + 1); });
      this.nodes.forEach(d => d.deg = deg.get(d.id) || 0);
      const fresh = this.nodes.some(d => !old.has(d.id));
      this.alpha = fresh || !old.size ? 1 : Math.max(this.alpha, 0.3);
      if (!old.size) this._autoFit = true;
      this._run();
    }

    _tick() {
      const N = this.nodes, E = this.edges, k = 30 + 200 / Math.sqrt(N.length + 1);
      for (let i = 0; i < N.length; i++) {
        const a = N[i];
        for (let j = i + 1; j < N.length; j++) {
          const b = N[j];
          let dx = a.x - b.x, dy = a.y - b.y, d2 = dx * dx + dy * dy;
          if (d2 < 0.01) { dx = Math.random() - .5; dy = Math.random() - .5; d2 = 0.25; }
          if (d2 > 250000) continue;
          const f = (k * k) / d2 * this.alpha * 0.6;
          a.vx += dx * f; a.vy += dy * f; b.vx -= dx * f; b.vy -= dy * f;
        }
      }
      for (const e of E) {
        const dx = e.t.x - e.s.x, dy = e.t.y - e.s.y, d = Math.sqrt(dx * dx + dy * dy) || 1;
        const f = (d - k) / d * 0.06 * this.alpha;
        e.s.vx += dx * f; e.s.vy += dy * f; e.t.vx -= dx * f; e.t.vy -= dy * f;
      }
      for (const a of N) {
        a.vx -= a.x * 0.01 * this.alpha; a.vy -= a.y * 0.01 * this.alpha;
        if (this.drag && this.drag.node === a) { a.vx = a.vy = 0; continue; }
        a.vx *= 0.6; a.vy *= 0.6;
        const v = Math.hypot(a.vx, a.vy); if (v > 30) { a.vx *= 30 / v; a.vy *= 30 / v; }
        a.x += a.vx; a.y += a.vy;
      }
      this.alpha *= 0.985;
    }

    _run() {
      if (this._running) return;
      this._running = true;
      const step = () => {
        const iters = this.nodes.length > 400 ? 1 : 3;
        for (let i = 0; i < iters && this.alpha > 0.02; i++) this._tick();
        if (this._autoFit && this.alpha < 0.35) { this.fit(); this._autoFit = false; }
        this.draw();
        if (this.alpha > 0.02) requestAnimationFrame(step); else { this._running = false; if (this._autoFit) { this.fit(); this._autoFit = false; } }
      };
      requestAnimationFrame(step);
    }

    fit() {
      if (!this.nodes.length) return;
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const d of this.nodes) { x0 = Math.min(x0, d.x); y0 = Math.min(y0, d.y); x1 = Math.max(x1, d.x); y1 = Math.max(y1, d.y); }
      const pad = 40, s = Math.min((this.w - 2 * pad) / Math.max(x1 - x0, 1), (this.h - 2 * pad) / Math.max(y1 - y0, 1), 3);
      this.scale = s; this.tx = this.w / 2 - s * (x0 + x1) / 2; this.ty = this.h / 2 - s * (y0 + y1) / 2;
      this.draw();
    }

    zoom(f, cx = this.w / 2, cy = this.h / 2) {
      const s = Math.min(Math.max(this.scale * f, 0.05), 12);
      this.tx = cx - (cx - this.tx) * s / this.scale; this.ty = cy - (cy - this.ty) * s / this.scale; this.scale = s;
      this.draw();
    }

    mark(id) { this.marked = id; this.draw(); }

    search(text) {
      const q = (text || "").trim().toLowerCase();
      this.highlight = q ? new Set(this.nodes.filter(d => d.id.toLowerCase().includes(q) || (d.name || "").toLowerCase().includes(q)).map(d => d.id)) : null;
      if (this.highlight && this.highlight.size) {
        const d = this.byId.get([...this.highlight][0]);
        this.tx = this.w / 2 - d.x * this.scale; this.ty = this.h / 2 - d.y * this.scale;
      }
      this.draw();
      return this.highlight ? this.highlight.size : 0;
    }

    draw() {
      const c = this.ctx; if (!c) return;
      c.save(); c.clearRect(0, 0, this.w, this.h);
      c.translate(this.tx, this.ty); c.scale(this.scale, this.scale);
      const hl = this.highlight, focus = this.hover;
      const near = focus ? new Set([focus.id, ...this.edges.filter(e => e.s === focus || e.t === focus).flatMap(e => [e.source, e.target])]) : null;
      const maxW = Math.max(1, ...this.edges.map(e => e.weight));
      for (const e of this.edges) {
        const [col, dash] = FLOW[e.type] || ["#999", []];
        const dim = (hl && !(hl.has(e.source) || hl.has(e.target))) || (near && !(e.s === focus || e.t === focus));
        c.globalAlpha = dim ? 0.12 : 0.75;
        c.strokeStyle = col; c.fillStyle = col;
        c.lineWidth = (0.8 + 2.5 * Math.log1p(e.weight) / Math.log1p(maxW)) / Math.sqrt(this.scale);
        c.setLineDash(dash.map(v => v / Math.sqrt(this.scale)));
        const dx = e.t.x - e.s.x, dy = e.t.y - e.s.y, d = Math.hypot(dx, dy) || 1;
        const off = (OFFSET[e.type] || 0) * 10 + 6, mx = (e.s.x + e.t.x) / 2 - dy / d * off, my = (e.s.y + e.t.y) / 2 + dx / d * off;
        c.beginPath(); c.moveTo(e.s.x, e.s.y); c.quadraticCurveTo(mx, my, e.t.x, e.t.y); c.stroke();
        // arrow head at the receiver
        const ang = Math.atan2(e.t.y - my, e.t.x - mx), r = e.t.r / Math.sqrt(this.scale) + 2, ax = e.t.x - Math.cos(ang) * r, ay = e.t.y - Math.sin(ang) * r, h = 6 / Math.sqrt(this.scale);
        c.setLineDash([]); c.beginPath(); c.moveTo(ax, ay);
        c.lineTo(ax - h * Math.cos(ang - 0.4), ay - h * Math.sin(ang - 0.4)); c.lineTo(ax - h * Math.cos(ang + 0.4), ay - h * Math.sin(ang + 0.4)); c.fill();
      }
      c.setLineDash([]);
      const labelAll = this.nodes.length <= 60 || this.scale > 1.6;
      const topIds = new Set([...this.nodes].sort((a, b) => (b.pagerank || 0) - (a.pagerank || 0)).slice(0, 12).map(d => d.id));
      for (const d of this.nodes) {
        const dim = (hl && !hl.has(d.id)) || (near && !near.has(d.id));
        c.globalAlpha = dim ? 0.3 : 1;
        const rr = d.r / Math.sqrt(this.scale);
        c.beginPath(); c.arc(d.x, d.y, rr, 0, 2 * Math.PI);
        c.fillStyle = SEG[d.segment] || SEG.unknown; c.fill();
        const strong = (hl && hl.has(d.id)) || d.id === this.marked;
        c.lineWidth = (strong ? 3 : 1.2) / this.scale; c.strokeStyle = strong ? "#111827" : "#fff"; c.stroke();
        if (!dim && (labelAll || d.id === this.marked || topIds.has(d.id) || (hl && hl.has(d.id)) || (near && near.has(d.id)))) {
          c.font = `${12 / this.scale}px system-ui, sans-serif`; c.fillStyle = "#111827";
          c.lineWidth = 3 / this.scale; c.strokeStyle = "rgba(255,255,255,.9)";
          const label = d.name || d.id;
          c.strokeText(label, d.x + rr + 3 / this.scale, d.y + 4 / this.scale);
          c.fillText(label, d.x + rr + 3 / this.scale, d.y + 4 / this.scale);
        }
      }
      c.restore();
    }

    _at(px, py) {
      const x = (px - this.tx) / this.scale, y = (py - this.ty) / this.scale;
      let best = null, bd = Infinity;
      for (const d of this.nodes) { const dd = Math.hypot(d.x - x, d.y - y); if (dd < d.r / Math.sqrt(this.scale) + 4 / this.scale && dd < bd) { best = d; bd = dd; } }
      return best;
    }

    _bind() {
      const cv = this.canvas;
      const pos = ev => { const r = cv.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
      cv.addEventListener("wheel", ev => { ev.preventDefault(); const [x, y] = pos(ev); this.zoom(ev.deltaY < 0 ? 1.15 : 1 / 1.15, x, y); }, { passive: false });
      cv.addEventListener("mousedown", ev => {
        const [x, y] = pos(ev), node = this._at(x, y);
        this.drag = { node, x, y, tx: this.tx, ty: this.ty, moved: false };
      });
      window.addEventListener("mouseup", ev => {
        if (this.drag && !this.drag.moved && this.drag.node) this.onClick(this.drag.node);
        this.drag = null;
      });
      cv.addEventListener("mousemove", ev => {
        const [x, y] = pos(ev);
        if (this.drag) {
          if (Math.hypot(x - this.drag.x, y - this.drag.y) > 3) this.drag.moved = true;
          if (this.drag.node) { this.drag.node.x = (x - this.tx) / this.scale; this.drag.node.y = (y - this.ty) / this.scale; this.alpha = Math.max(this.alpha, 0.1); this._run(); }
          else { this.tx = this.drag.tx + x - this.drag.x; this.ty = this.drag.ty + y - this.drag.y; }
          this.draw(); return;
        }
        const node = this._at(x, y);
        if (node !== this.hover) { this.hover = node; this.draw(); }
        if (this.tip) {
          if (node) {
            this.tip.hidden = false; this.tip.style.left = (x + 14) + "px"; this.tip.style.top = (y + 10) + "px";
            this.tip.textContent = "";
            const b = document.createElement("b"); b.textContent = node.name ? `${node.name} (${node.id})` : node.id; this.tip.appendChild(b);
            this.tip.appendChild(document.createTextNode(` · ${node.segment}${node.team ? " / " + node.team : ""}`));
            this.tip.appendChild(document.createElement("br"));
            this.tip.appendChild(document.createTextNode(`PageRank ${(node.pagerank || 0).toFixed(4)} · betweenness ${(node.betweenness || 0).toFixed(4)} · reach ${node.reach || 0} · flows ${node.strength || 0}`));
          } else this.tip.hidden = true;
        }
        cv.style.cursor = node ? "pointer" : "grab";
      });
      cv.addEventListener("mouseleave", () => { this.hover = null; if (this.tip) this.tip.hidden = true; this.draw(); });
    }
  }
  VNGraph.SEG = SEG; VNGraph.FLOW = FLOW;
  window.VNGraph = VNGraph;
})();
