"""Simulator: realistic, labelled Azure flow-log traffic laid out like the two Azure containers.

No public labelled flow-log data set can be had, so benchmarks, collector tests, the demo and the
detection evaluation draw on this one. It sits beside the pipeline, not in it: it only writes
blobs (a folder laid out like the containers, or a storage account) and the ground truth.

    topology  the estate (subscriptions, VNets, subnets with NSGs, VMs by tier)
    world     the estate plus the internet around it, and the clock (daily, weekly rhythm)
    housekeeping, benign
              an hour of the estate's own traffic, as sessions
    scenarios attacks, one per detection family, each with a label
    observe   sessions -> the tuples each NIC logs (B/C/E with deltas, denials, both ends)
    encode    tuples -> NSG v2 / VNet v4 records and blob names
    sink      blobs grown block by block as Azure does (folder, memory, Azure)
    run       the hour-by-hour loop that ties them together
    truth     the labels file, the threat-intel feed and the Tor relay list
"""

from flowcdr.simulate.azure_sink import AzureSink
from flowcdr.simulate.encode import LogFormat
from flowcdr.simulate.run import Pace, Plan, Simulation, Totals
from flowcdr.simulate.scenarios import SCENARIOS, Label
from flowcdr.simulate.sink import BlobSink, FolderSink, MemorySink
from flowcdr.simulate.truth import tor_list, write_intel, write_labels

__all__ = [
    "SCENARIOS",
    "AzureSink",
    "BlobSink",
    "FolderSink",
    "Label",
    "LogFormat",
    "MemorySink",
    "Pace",
    "Plan",
    "Simulation",
    "Totals",
    "tor_list",
    "write_intel",
    "write_labels",
]
