"""What each number on the report and the explorer means, in one place.

The report puts these texts in ``title`` attributes and its "What the numbers mean" section; the
explorer receives them from its server and shows them as help text and in its help panel.
"""

from __future__ import annotations

GLOSSARY: dict[str, str] = {
    "cluster": (
        "A leaf of HDBSCAN's condensed tree: a small overdensity in representation space, "
        "a candidate rare class. Lettered A, B, ... by decreasing size."
    ),
    "size": "Galaxies in the cluster (or tree node).",
    "persistence": (
        "How long the cluster lives in the condensed tree: λ at which it dies minus λ at which "
        "it is born. Larger means a more clearly separated overdensity."
    ),
    "mean p": (
        "Mean membership probability of the cluster's galaxies (HDBSCAN's 'probability'): "
        "1 for galaxies at the cluster's densest core, towards 0 at its edge."
    ),
    "probability": (
        "HDBSCAN's membership probability of this galaxy in its cluster: 1 at the densest core, "
        "towards 0 at the edge; 0 for noise."
    ),
    "λ": (
        "lambda = 1 / distance, HDBSCAN's density scale. Going down the condensed tree λ grows: "
        "clusters split off at the λ where they separate (birth) and shed galaxies until they "
        "split or vanish (death)."
    ),
    "lambda": "Same as λ: 1 / distance, the density scale of HDBSCAN's condensed tree.",
    "condensed tree": (
        "HDBSCAN's hierarchy of clusters as the density threshold λ rises. Its leaves are the "
        "clusters raregal reports; a node above them groups the leaves it splits into."
    ),
    "node": (
        "A cluster of the condensed tree that splits further; its galaxies are those of all the "
        "leaves below it plus the ones that fall out on the way."
    ),
    "noise": "Galaxies in no cluster (most of them: under 2% are clustered in the paper).",
    "outlier score": (
        "HDBSCAN's GLOSH score: how much less dense a galaxy's neighbourhood is than its "
        "cluster's densest part (0 inside, towards 1 for outliers)."
    ),
    "anomaly score": (
        "How rare the galaxy looks (raregal rank): its distance to the nearest 2% of the survey "
        "in representation space, over the median galaxy's; 1 is ordinary, higher is rarer."
    ),
    "medoid": "The cluster member closest to all the others: its most typical galaxy.",
    "interest": (
        "How rare the cluster looks: the mean, over the run's clusters, of its standardised "
        "persistence, isolation, separation from the survey and vote contrast; above 0 it is "
        "more distinct than the average cluster (the others fold into the main population)."
    ),
    "seed stability": (
        "Share of searches with other random seeds in which the cluster is found again."
    ),
    "vote fraction": (
        "Share of Galaxy Zoo volunteers (as predicted by the model) giving that answer."
    ),
    "map": (
        "UMAP of the representations to two dimensions, for pictures only (clusters are found "
        "in 5-D). Distances between far islands are not to scale where the map pulls them in."
    ),
    "broken scale": (
        "Islands far from the main population are drawn closer than they are, inside a dashed "
        "frame, so that the main population fills the map; their inner layout is to scale."
    ),
}
"""Term -> one or two plain sentences."""


def term(name: str) -> str:
    """The help text of ``name`` (KeyError for an unknown term, so that typos fail loudly)."""
    return GLOSSARY[name]
