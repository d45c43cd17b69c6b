"""The Download Scripts zip: a Terraform module filled in for one flow-log configuration.

``flowcdr_azure_cdr_terraform.zip`` holds the templates of ``terraform/`` as they are, the
Function package, and ``terraform.tfvars.json``: the only file that differs between
configurations. It is where the flow-log connection strings travel, since the Function needs
them in Key Vault and Terraform puts them there; the subscription token is left empty for the
user to fill in, so a download never carries a credential of the gateway's own. The tfvars file
is written with mode 0600.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from flowcdr.deploy.package import deterministic_zip, function_package

ZIP_NAME = "flowcdr_azure_cdr_terraform.zip"
FOLDER = "flowcdr_azure_cdr_terraform"
TEMPLATES = ("versions.tf", "variables.tf", "main.tf", "collector.tf", "outputs.tf", "README.md")
_TEMPLATE_DIR = Path(__file__).resolve().parent / "terraform"


class FlowLogAccount(Protocol):
    """One bucket of a configuration, as the control store returns it."""

    @property
    def storage_account(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def connection_string(self) -> str: ...


def tfvars(
    config_id: str, deployment_name: str, accounts: Sequence[FlowLogAccount], apigw_url: str
) -> dict[str, Any]:
    """``terraform.tfvars.json``: one ``locationN`` per flow-log account, in the configuration's
    order (each account gets its own Function, even when two share a region)."""
    return {
        "subscription_token": "",
        "apigw_url": apigw_url.rstrip("/"),
        "flowlog_config_id": config_id,
        "deployment_name": deployment_name,
        "region_set": {
            f"location{number}": {
                "location": account.region,
                "flow_logs_storage_account": account.storage_account,
                "flow_logs_storage_connection_string": account.connection_string,
            }
            for number, account in enumerate(accounts, start=1)
        },
    }


def terraform_zip(
    config_id: str, deployment_name: str, accounts: Sequence[FlowLogAccount], apigw_url: str
) -> bytes:
    """The whole download; the same configuration and code give the same bytes."""
    variables = tfvars(config_id, deployment_name, accounts, apigw_url)
    entries = [
        (f"{FOLDER}/{name}", (_TEMPLATE_DIR / name).read_bytes(), 0o644) for name in TEMPLATES
    ]
    entries.append((f"{FOLDER}/function_app.zip", function_package(), 0o644))
    text = json.dumps(variables, indent=2) + "\n"
    entries.append((f"{FOLDER}/terraform.tfvars.json", text.encode(), 0o600))
    return deterministic_zip(entries)
