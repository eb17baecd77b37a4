"""Plain-text rendering of reports for terminals (no extra dependency)."""

from __future__ import annotations

from airisk.types import ScanReport, Verdict

EXIT_CODES = {Verdict.PASS: 0, Verdict.FLAG: 3, Verdict.REDACT: 4, Verdict.BLOCK: 5}


def report_table(report: ScanReport, *, show_text: bool = True) -> str:
    """A readable table: one row per scanner, then its findings, then the sanitised text."""
    rows = [("scanner", "verdict", "score", "ms", "findings / error")]
    for result in report.results:
        if result.skipped:
            rows.append((result.scanner, "skipped", "", "", ""))
            continue
        what = result.error or ", ".join(
            f"{f.kind}[{f.start}:{f.end}] {f.score:.2f}" for f in result.findings[:6]
        )
        if len(result.findings) > 6:
            what += f", … ({len(result.findings)} in all)"
        rows.append((result.scanner, result.verdict.value, f"{result.score:.2f}", f"{result.elapsed_ms:.2f}", what))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4]
             for row in rows]
    lines.insert(1, "-" * min(100, sum(widths) + 8 + max(len(row[4]) for row in rows)))
    if report.normalization:
        kinds = ", ".join(sorted({f.kind for f in report.normalization}))
        lines.append(f"normalisation: {kinds}")
    lines.append(f"verdict: {report.verdict.value.upper()}  ({report.elapsed_ms:.2f} ms)")
    if show_text and report.verdict is Verdict.REDACT:
        lines.append(f"sanitised: {report.sanitized_text}")
    return "\n".join(lines)
