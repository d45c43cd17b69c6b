"""Validation of what a user enters for an Azure flow-log deployment, before anything is saved.

The portal's "Configure > Threat Scanners > Azure" form takes a deployment name, a subscription
id and buckets (storage account, region, connection string). Each is checked here, and a refusal
is a ``FieldError`` naming the field to fix. Pure code: no I/O, no network, no Azure SDK; whether
the account answers is the collector's concern.
"""

from flowcdr.azure.connection import ConnectionString, mask, parse_connection_string
from flowcdr.azure.errors import ConnectionStringError, FieldError
from flowcdr.azure.names import (
    normalize_subscription_id,
    validate_deployment_name,
    validate_storage_account,
)
from flowcdr.azure.regions import REGIONS, Cloud, Region, is_region

__all__ = [
    "REGIONS",
    "Cloud",
    "ConnectionString",
    "ConnectionStringError",
    "FieldError",
    "Region",
    "is_region",
    "mask",
    "normalize_subscription_id",
    "parse_connection_string",
    "validate_deployment_name",
    "validate_storage_account",
]
