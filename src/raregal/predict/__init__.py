"""Placing new galaxies into an existing run: ``predict`` (``raregal predict``).

``model`` keeps what placing needs of the fitted reducer in the run folder (arrays and JSON);
``core`` selects, places and assigns the new galaxies (``raregal.cluster.assign`` for the leaf
clusters, ``raregal.reduce.placement.place_independently`` for the coordinates).
"""

from raregal.predict.core import FittedRun, PredictResult, place_galaxies, predict
from raregal.predict.model import PlacementModel

__all__ = ["FittedRun", "PlacementModel", "PredictResult", "place_galaxies", "predict"]
