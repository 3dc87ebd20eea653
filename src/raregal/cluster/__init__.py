"""The cluster stage: HDBSCAN leaf clusters of the embedding.

``cluster`` is the stage (``stage``); engines are listed by name in ``engines.CLUSTERERS``
(``hdbscan_engines``: fast_hdbscan, hdbscan; ``cuml``: GPU); they build the condensed tree,
which ``tree`` reads out (leaves, probabilities, GLOSH) and ``table`` describes.
"""

from raregal.cluster.engines import CLUSTERERS
from raregal.cluster.stage import Clustering, cluster
from raregal.cluster.tree import CondensedTree

__all__ = ["CLUSTERERS", "Clustering", "CondensedTree", "cluster"]
