"""The report of a run: galleries, map, condensed tree, exports and a page that opens from disk.

>>> index = build_report("RUN")            # doctest: +SKIP  -> RUN/report/index.html
"""

from raregal.report.build import ReportSummary, build_report, create_report

__all__ = ["ReportSummary", "build_report", "create_report"]
