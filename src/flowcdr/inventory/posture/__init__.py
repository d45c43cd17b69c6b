"""The posture audit: network misconfigurations in an inventory snapshot, as findings.

Findings of kind "posture" are ordinary findings (``flowcdr.detect.finding``) whose rule id
starts with ``posture.``; they live in the same ledger with the same lifecycle as detections.
"""

from flowcdr.inventory.posture.audit import CHECKS, AuditResult, audit
from flowcdr.inventory.posture.check import AuditSettings, Check, Issue
from flowcdr.inventory.posture.evidence import DuckFlowEvidence, FlowEvidence

__all__ = [
    "CHECKS",
    "AuditResult",
    "AuditSettings",
    "Check",
    "DuckFlowEvidence",
    "FlowEvidence",
    "Issue",
    "audit",
]
