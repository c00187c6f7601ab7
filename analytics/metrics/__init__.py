"""Metric families of the value network, one module each, with their formulas in the docstrings.

``engine`` holds the window graph (sparse arrays) and the engine switch: ``"fast"`` (numba kernels +
NetworKit PLM + scipy sparse, default) or ``"networkx"`` (the reference).
"""

from valuenet.analytics.metrics.engine import ENGINES, WindowGraph

__all__ = ["ENGINES", "WindowGraph"]
