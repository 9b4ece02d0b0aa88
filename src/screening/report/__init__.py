"""The report: flags, findings and their renderings.

``model`` (the report contract and the text renderings, the participant's copy included),
``findings`` (flags grouped into findings and the summary), ``html`` (the printed record) and
``display`` (answers shown as text, never obeyed).
"""

from .model import (
    NOTICE,
    EvidenceItem,
    Finding,
    Flag,
    MissingItem,
    ProgramInfo,
    Report,
    RulebookInfo,
    Summary,
    compute_report_id,
    intake_sha256,
    render_text,
    report_schema,
)

__all__ = [
    "NOTICE",
    "Flag",
    "Finding",
    "EvidenceItem",
    "MissingItem",
    "Report",
    "RulebookInfo",
    "ProgramInfo",
    "Summary",
    "render_text",
    "report_schema",
    "intake_sha256",
    "compute_report_id",
]
