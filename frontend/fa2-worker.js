// ForceAtlas2 in a web worker, several iterations per message: the page applies positions a few
// times a second instead of after every iteration (graphology's own supervisor does one per message).
import iterate from "graphology-layout-forceatlas2/iterate.js";

let EDGES = null;
self.addEventListener("message", event => {
  const data = event.data;
  const nodes = new Float32Array(data.nodes);
  if (data.edges) EDGES = new Float32Array(data.edges);
  const t0 = performance.now();
  let n = 0;
  do {
    iterate(data.settings, nodes, EDGES);
    n++;
  } while (performance.now() - t0 < data.budgetMs);
  self.postMessage({ nodes: nodes.buffer, iterations: n }, [nodes.buffer]);
});
