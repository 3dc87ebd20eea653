"""CSV cells that a spreadsheet opens as text, never as a formula (CSV/formula injection).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula
by Excel, LibreOffice and Google Sheets (``=cmd|' /C calc'!A0``, ``=HYPERLINK(...)``). Such text
cells get a leading apostrophe, OWASP's advice: spreadsheets show the text as written, and a
reader of the CSV sees at once that the cell was escaped. Numeric columns are left alone, so
``-0.5`` stays a number. The report's cluster exports and the explorer's lists use this one
helper.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """``value`` with a leading apostrophe when it is text that a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text columns are escaped by ``spreadsheet_safe``."""
    from pandas.api import types

    out = df.copy()
    for name in out.columns:
        column = out[name]
        if types.is_object_dtype(column) or types.is_string_dtype(column):
            out[name] = column.map(spreadsheet_safe)
    return out
