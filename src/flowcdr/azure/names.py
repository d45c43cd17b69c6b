"""The plain identifiers of a flow-log configuration: deployment, subscription, storage account.

Each function returns the value to store or raises ``FieldError`` naming the form field; nothing is
trimmed or guessed, so what is stored is what the user can see they typed.
"""

import re

from flowcdr.azure.errors import FieldError, shown

_DEPLOYMENT_PREFIX = "azure-"
_DEPLOYMENT_LENGTH = range(7, 65)
_STORAGE_ACCOUNT_LENGTH = range(3, 25)

# Explicit ASCII ranges and no IGNORECASE: with it, [a-z] also matches the Kelvin sign (U+212A).
_DEPLOYMENT_CHARS = re.compile(r"[a-z0-9-]*")
_GUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_STORAGE_ACCOUNT_CHARS = re.compile(r"[a-z0-9]*")


def validate_deployment_name(name: str) -> str:
    """A deployment name: ``azure-`` then lower-case letters, digits and hyphens, 7 to 64 long.

    The prefix tells deployments of different clouds apart, as in the portal this mirrors; the
    name may end up in resource and file names, hence the narrow alphabet.
    """
    field = "deployment_name"
    if len(name) not in _DEPLOYMENT_LENGTH:
        raise FieldError(field, f"must be 7 to 64 characters long, got {len(name)}: {shown(name)}")
    if not _DEPLOYMENT_CHARS.fullmatch(name):
        raise FieldError(
            field, f"may hold only lower-case letters, digits and hyphens: {shown(name)}"
        )
    if not name.startswith(_DEPLOYMENT_PREFIX):
        raise FieldError(field, f"must start with {_DEPLOYMENT_PREFIX!r}: {shown(name)}")
    return name


def normalize_subscription_id(text: str) -> str:
    """A subscription id in the canonical 8-4-4-4-12 hex form, returned in lower case.

    Azure prints GUIDs in either case but compares them case-insensitively; lower case is the
    form the parser gives ``subscription_id`` in flows, so the two can be joined. Braces and
    other GUID spellings are refused rather than repaired: the portal never shows them.
    """
    if not _GUID.fullmatch(text):
        raise FieldError(
            "subscription_id",
            f"must be a GUID like 0b1f6471-1bf0-4dda-aec3-cb9272f09590, got {shown(text)}",
        )
    return text.lower()


def validate_storage_account(name: str) -> str:
    """A storage account name: 3 to 24 lower-case letters and digits, as Azure requires."""
    field = "storage_account"
    if len(name) not in _STORAGE_ACCOUNT_LENGTH:
        raise FieldError(field, f"must be 3 to 24 characters long, got {len(name)}: {shown(name)}")
    if not _STORAGE_ACCOUNT_CHARS.fullmatch(name):
        raise FieldError(field, f"may hold only lower-case letters and digits: {shown(name)}")
    return name
