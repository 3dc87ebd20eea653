"""CSV cells that spreadsheets open as text, never as formulas."""

from __future__ import annotations

import pandas as pd

from raregal.io.spreadsheet import spreadsheet_safe, spreadsheet_safe_frame


def test_formula_starts_are_escaped_and_other_text_is_left_alone():
    for cell in ("=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert spreadsheet_safe(cell) == "'" + cell
    for cell in ("gal0001", "ring?", "", "a=b", 3.5, None):
        assert spreadsheet_safe(cell) == cell


def test_numeric_columns_stay_numbers():
    df = pd.DataFrame({"id_str": ['=HYPERLINK("http://x")', "ok"], "ra": [-1.5, 2.0]})
    safe = spreadsheet_safe_frame(df)
    assert safe["id_str"].tolist() == ['\'=HYPERLINK("http://x")', "ok"]
    assert safe["ra"].tolist() == [-1.5, 2.0]
    assert df["id_str"][0].startswith("=")  # the input is not changed
