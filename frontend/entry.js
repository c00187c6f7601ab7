// The graph libraries the dashboard uses, as one global (window.VNLibs) for a plain <script> tag.
// ForceAtlas2 iterations run in fa2-worker.js (a second bundle); graph.js drives it with these helpers.
import { MultiDirectedGraph } from "graphology";
import Sigma from "sigma";
import forceAtlas2 from "graphology-layout-forceatlas2";
import fa2Defaults from "graphology-layout-forceatlas2/defaults.js";
import { graphToByteArrays, assignLayoutChanges } from "graphology-layout-forceatlas2/helpers.js";

window.VNLibs = { MultiDirectedGraph, Sigma, forceAtlas2, fa2Defaults, graphToByteArrays, assignLayoutChanges };
