"""A simulated galaxy survey with planted rare classes: the embedded default data and benchmark."""

from raregal.simulate.classes import (
    ARTIFACT_CLASSES,
    BULK_CLASSES,
    CLASS_NAMES,
    RARE_CLASSES,
    class_fractions,
)
from raregal.simulate.survey import benchmark_simulator, simulate_survey

__all__ = [
    "ARTIFACT_CLASSES",
    "BULK_CLASSES",
    "CLASS_NAMES",
    "RARE_CLASSES",
    "benchmark_simulator",
    "class_fractions",
    "simulate_survey",
]
