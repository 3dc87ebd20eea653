"""raregal's UMAP layout kernel: umap-learn's objective, parallel over vertices, reproducible."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse
from umap.umap_ import find_ab_params, fuzzy_simplicial_set, simplicial_set_embedding

from raregal.reduce.layout import epochs_per_sample, optimize_layout, prune_graph, rescale_init
from raregal.reduce.neighbours import hnsw_neighbors
from raregal.reduce.prefetch import prefetch_row
from raregal.reduce.raregal_umap import pca_init
from raregal.synthetic import make_representations
from threads import numba_threads

A, B = find_ab_params(1.0, 0.1)


@pytest.fixture(scope="module")
def problem():
    """A fuzzy graph and PCA start of 3,000 representations with three planted groups."""
    df = make_representations(3000, n_features=16, seed=1, group_sizes=(150, 120, 90))
    X = df.filter(like="feat_").to_numpy(np.float32)
    indices, dists = hnsw_neighbors(X, 15, n_threads=1)
    graph, _, _ = fuzzy_simplicial_set(X, 15, np.random.RandomState(0), "euclidean", {},
                                       indices, dists)  # fmt: skip
    return X, graph.tocsr(), pca_init(X, 5, random_state=0), indices


def neighbour_preservation(embedding: np.ndarray, indices: np.ndarray, k: int = 15) -> float:
    """Mean share of each point's input neighbours among its k nearest in the embedding."""
    d2 = ((embedding[:, None, :] - embedding[None, :, :]) ** 2).sum(-1)
    nearest = np.argsort(d2, axis=1)[:, :k]
    return float(np.mean([len(set(nearest[i]) & set(indices[i, :k])) / k
                          for i in range(len(embedding))]))  # fmt: skip


def test_one_thread_reproducible_and_seeded(problem):
    _, graph, init, _ = problem
    with numba_threads(1):
        first = optimize_layout(init, graph, 60, A, B, random_state=3)
        again = optimize_layout(init, graph, 60, A, B, random_state=3)
        other_seed = optimize_layout(init, graph, 60, A, B, random_state=4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other_seed)


def test_two_threads_keep_the_neighbours_one_thread_keeps(problem):
    """Lock-free threads may interleave differently from run to run, not change the result."""
    _, graph, init, indices = problem
    with numba_threads(1):
        one = optimize_layout(init, graph, 100, A, B, random_state=0)
    with numba_threads(2):
        two = optimize_layout(init, graph, 100, A, B, random_state=0)
    assert abs(neighbour_preservation(one, indices) - neighbour_preservation(two, indices)) < 0.03


def test_preserves_neighbours_as_well_as_umap_learn(problem):
    """Same graph, same start, same epochs: the layouts keep as many input neighbours."""
    X, graph, init, indices = problem
    ours = optimize_layout(init, graph, 200, A, B, random_state=0)
    theirs, _ = simplicial_set_embedding(
        X, graph, 5, 1.0, A, B, 1.0, 5, 200, init, np.random.RandomState(0),
        "euclidean", {}, False, {}, False,
    )  # fmt: skip
    ours_kept, theirs_kept = (
        neighbour_preservation(ours, indices),
        neighbour_preservation(theirs, indices),
    )
    start_kept = neighbour_preservation(init, indices)
    assert ours_kept > start_kept + 0.1
    assert abs(ours_kept - theirs_kept) < 0.05, (ours_kept, theirs_kept)
    assert ours.dtype == np.float32 and np.isfinite(ours).all()


def test_schedule_samples_edges_in_proportion_to_weight():
    per_sample = epochs_per_sample(np.array([1.0, 0.5, 0.25, 0.0]), n_epochs=200)
    assert per_sample.tolist() == [1.0, 2.0, 4.0, -1.0]
    graph = scipy.sparse.csr_matrix(np.array([[0, 1.0, 0.004], [1.0, 0, 0.5], [0.004, 0.5, 0]]))
    kept = prune_graph(graph, n_epochs=200)
    assert kept.nnz == 4 and kept[0, 2] == 0  # 0.004 < 1/200: never sampled, dropped


def test_initial_layout_rescaled_to_umap_range():
    scaled = rescale_init(np.array([[-3.0, 1.0], [1.0, 1.0], [5.0, 1.0]]))
    assert scaled[:, 0].tolist() == [0.0, 5.0, 10.0] and scaled[:, 1].tolist() == [0.0] * 3


def test_mismatched_graph_is_refused(problem):
    _, graph, init, _ = problem
    with pytest.raises(ValueError, match="does not match an initial layout of 10 rows"):
        optimize_layout(init[:10], graph, 10, A, B)


def test_prefetch_changes_nothing():
    @numba.njit
    def gather(rows: np.ndarray, order: np.ndarray) -> float:
        total = 0.0
        for j in range(len(order)):
            if j + 1 < len(order):
                prefetch_row(rows, order[j + 1])
            total += rows[order[j], 0]
        return total

    rows = np.arange(40, dtype=np.float32).reshape(20, 2)
    order = np.array([19, 0, 7, 7, 3])
    assert gather(rows, order) == rows[order, 0].sum()


_LAYOUT_SCRIPT = """
import hashlib, numba, numpy as np, scipy.sparse
numba.set_num_threads(1)
from raregal.reduce.layout import optimize_layout
rng = np.random.default_rng(0)
graph = scipy.sparse.random(400, 400, density=0.03, random_state=1, format="csr", dtype=np.float32)
init = rng.normal(size=(400, 5)).astype(np.float32)
print(hashlib.sha256(optimize_layout(init, (graph + graph.T).tocsr(), 30, 1.58, 0.9).tobytes())
      .hexdigest())
"""


def test_a_freshly_compiled_kernel_gives_the_cached_kernels_layout(tmp_path):
    """numba compiles the kernel in the first process and loads it from its cache in the next:
    on one thread both must give the same layout (fast math that reassociates did not)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "NUMBA_NUM_THREADS": "1"}
    runs = [
        subprocess.run([sys.executable, "-c", _LAYOUT_SCRIPT], env=env, capture_output=True,
                       text=True, check=True).stdout.strip()
        for _ in range(2)
    ]
    assert len(runs[0]) == 64
    assert runs[0] == runs[1]
