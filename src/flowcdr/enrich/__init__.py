"""Enrichment at ingest: where each end of a flow is, and what kind of flow it is.

Sits between parse and store (design.md section 2): ``enrich`` takes the ``FLOW_SCHEMA`` table
``flowcdr.formats.parse_blob`` returns and adds the ``ENRICHMENT_FIELDS`` columns: each end's
scope (``scope.RANGES`` is the one table of address ranges) and country (offline registry data
from the ``iptocc`` package, see ``country``), the flow type (``flowtype``, with Azure's
published ranges from ``servicetags`` when the operator supplies that file), and the
threat-intel match (filled by the threat-intel lists, ``flowcdr.detect.dataset.with_intel``).
``stamp`` then adds tenant, connector and admission time. No network; the one file read is the
service tags file, by ``servicetags``, when asked.
"""

from flowcdr.enrich.stamp import stamp
from flowcdr.enrich.table import enrich

__all__ = ["enrich", "stamp"]
