"""The search: select -> reduce -> cluster.

``inputs`` reads and checks the tables, ``core.search`` is the plain function that does the
work, ``estimator.RareClassSearch`` wraps it in scikit-learn style, ``run.run_search`` runs it
into a run folder (what ``raregal search`` calls) and ``record`` writes its part of run.json.
"""

from raregal.search.core import SearchResult, search
from raregal.search.estimator import RareClassSearch
from raregal.search.inputs import SearchInputs, prepare_inputs
from raregal.search.run import run_search

__all__ = [
    "RareClassSearch",
    "SearchInputs",
    "SearchResult",
    "prepare_inputs",
    "run_search",
    "search",
]
