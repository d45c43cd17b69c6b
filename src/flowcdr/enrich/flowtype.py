"""What kind of flow a row is, in the spirit of Azure Traffic Analytics' FlowType.

Decided from the scopes of the two ends and the threat-intel match; the first rule that holds:

    malicious        intel_match is set
    external_public  either end is public
    azure_public     one end is Azure's (azure_platform, or public inside Azure's published
                     ranges), the other Azure's or local
    intra_vnet       both ends are local: private, loopback or link_local
    unknown          anything else (an end that is multicast or reserved)

Loopback and link-local count as local because such a flow never leaves the host. What scopes
cannot tell yet: ``intra_vnet`` is "both ends private", so peered VNets and on-premises networks
behind a gateway fall in it too (telling them apart needs the VNets' address spaces). Azure's
public services are told from the rest of the internet by Azure's published ranges
(``servicetags``): without that file only the two platform addresses count as Azure's.
"""

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from flowcdr.formats.schema import FLOW_TYPES, SCOPES

Codes = npt.NDArray[np.int8]
Mask = npt.NDArray[np.bool_]

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


_PUBLIC = SCOPES.index("public")
_AZURE = SCOPES.index("azure_platform")


def flow_types(
    src: Codes,
    dst: Codes,
    intel_match: pa.Array | pa.ChunkedArray,
    azure: tuple[Mask, Mask] | None = None,
) -> Codes:
    """The flow-type code of each row, from its scope codes and its intel_match; ``azure``
    says which public sources and destinations are inside Azure's published ranges."""
    if azure is not None:
        src = np.where(azure[0] & (src == _PUBLIC), _AZURE, src).astype(np.int8)
        dst = np.where(azure[1] & (dst == _PUBLIC), _AZURE, dst).astype(np.int8)
    pairs = src.astype(np.intp) * len(SCOPES) + dst
    codes: Codes = _PAIRS[pairs]
    codes[np.asarray(pc.is_valid(intel_match))] = _CODES["malicious"]
    return codes
