"""flowcdr: cloud detection and response for Azure NSG and VNet flow logs."""
