"""What kind of flow a row is, in the spirit of Azure Traffic Analytics' FlowType.

Decided from the scopes of the two ends and the threat-intel match; the first rule that holds:

    malicious        intel_match is set
    external_public  either end is public
    azure_public     one end is azure_platform, the other azure_platform or local
    intra_vnet       both ends are local: private, loopback or link_local
    unknown          anything else (an end that is multicast or reserved)

Loopback and link-local count as local because such a flow never leaves the host. What scopes
cannot tell yet: ``intra_vnet`` is "both ends private", so peered VNets and on-premises networks
behind a gateway fall in it too (telling them apart needs the VNets' address spaces); and
``azure_public`` holds only the platform addresses, because flows to Azure's public services
need Azure's published IP ranges (the service tags file), so until that is loaded they show
as ``external_public``.
"""

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from flowcdr.formats.schema import FLOW_TYPES, SCOPES

Codes = npt.NDArray[np.int8]

_LOCAL = {"private", "loopback", "link_local"}
_CODES = {name: code for code, name in enumerate(FLOW_TYPES)}


def _pair_type(one: str, other: str) -> str:
    ends = {one, other}
    if "public" in ends:
        return "external_public"
    if "azure_platform" in ends and ends <= _LOCAL | {"azure_platform"}:
        return "azure_public"
    if ends <= _LOCAL:
        return "intra_vnet"
    return "unknown"


# The type of every (source scope, destination scope) pair, at [src * len(SCOPES) + dst].
_PAIRS = np.array([_CODES[_pair_type(s, d)] for s in SCOPES for d in SCOPES], np.int8)


def flow_types(src: Codes, dst: Codes, intel_match: pa.Array | pa.ChunkedArray) -> Codes:
    """The flow-type code of each row, from its scope codes and its intel_match."""
    pairs = src.astype(np.intp) * len(SCOPES) + dst
    codes: Codes = _PAIRS[pairs]
    codes[np.asarray(pc.is_valid(intel_match))] = _CODES["malicious"]
    return codes
