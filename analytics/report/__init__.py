"""Periodic reports: one period of a network against the previous one, as self-contained HTML or PDF."""

from valuenet.analytics.report.model import SECTIONS, Report, ReportError, build_report, resolve
from valuenet.analytics.report.render import PdfError, render_html, render_pdf, write_report

__all__ = [
    "SECTIONS",
    "PdfError",
    "Report",
    "ReportError",
    "build_report",
    "resolve",
    "render_html",
    "render_pdf",
    "write_report",
]
