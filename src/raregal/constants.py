"""Special labels shared by every stage and by the tests."""

NOISE = -1
"""Cluster label of a galaxy that HDBSCAN leaves out of every leaf cluster."""

NOT_SELECTED = -2
"""Cluster label of a galaxy removed by the morphology selection before clustering."""

ID_COLUMN = "id_str"
FILE_COLUMN = "file_loc"
FEATURE_PREFIX = "feat_"
FRACTION_SUFFIX = "_fraction"
