// The graph libraries the dashboard uses, as one global (window.VNLibs) for a plain <script> tag.
import { MultiDirectedGraph } from "graphology";
import Sigma from "sigma";
import forceAtlas2 from "graphology-layout-forceatlas2";
import FA2Layout from "graphology-layout-forceatlas2/worker";
import { circular } from "graphology-layout";

window.VNLibs = { MultiDirectedGraph, Sigma, forceAtlas2, FA2Layout, circular };
