"""From a walked graph to what a reader wants: per-layer records, totals, rows aggregated by depth."""

from costcalc.analysis.report import Layer, Report, Row, analyse, rows

__all__ = ["Layer", "Report", "Row", "analyse", "rows"]
