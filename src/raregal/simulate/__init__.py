"""A simulated galaxy survey with planted rare classes: the embedded default data."""

from raregal.simulate.classes import (
    ARTIFACT_CLASSES,
    BULK_CLASSES,
    CLASS_NAMES,
    RARE_CLASSES,
    class_fractions,
)
from raregal.simulate.survey import simulate_survey

__all__ = [
    "ARTIFACT_CLASSES",
    "BULK_CLASSES",
    "CLASS_NAMES",
    "RARE_CLASSES",
    "class_fractions",
    "simulate_survey",
]
