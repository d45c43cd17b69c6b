"""The Download Scripts zip: its files, the exact tfvars, where secrets are, same bytes twice."""

import base64
import io
import json
import stat
import zipfile
from dataclasses import dataclass

from flowcdr.deploy.module import FOLDER, TEMPLATES, ZIP_NAME, terraform_zip, tfvars
from flowcdr.deploy.package import function_package

URL = "https://flowcdr.example.com/"


def key(account: str) -> str:
    return base64.b64encode(f"key-of-{account}-0123456789abcdef".encode()).decode()


def connection(account: str) -> str:
    return (
        f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key(account)};"
        "EndpointSuffix=core.windows.net"
    )


@dataclass(frozen=True)
class Account:
    storage_account: str
    region: str
    connection_string: str


ACCOUNTS = [
    Account("flowlogseast01", "eastus", connection("flowlogseast01")),
    Account("flowlogsweu01", "westeurope", connection("flowlogsweu01")),
    Account("flowlogseast02", "eastus", connection("flowlogseast02")),
]


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_tfvars_has_one_location_per_account_in_the_configuration_order() -> None:
    assert tfvars("cfg-1", "azure-prod", ACCOUNTS, URL) == {
        "subscription_token": "",
        "apigw_url": "https://flowcdr.example.com",
        "flowlog_config_id": "cfg-1",
        "deployment_name": "azure-prod",
        "region_set": {
            "location1": {
                "location": "eastus",
                "flow_logs_storage_account": "flowlogseast01",
                "flow_logs_storage_connection_string": connection("flowlogseast01"),
            },
            "location2": {
                "location": "westeurope",
                "flow_logs_storage_account": "flowlogsweu01",
                "flow_logs_storage_connection_string": connection("flowlogsweu01"),
            },
            "location3": {
                "location": "eastus",
                "flow_logs_storage_account": "flowlogseast02",
                "flow_logs_storage_connection_string": connection("flowlogseast02"),
            },
        },
    }


def test_the_zip_holds_the_module_the_package_and_the_tfvars() -> None:
    data = terraform_zip("cfg-1", "azure-prod", ACCOUNTS, URL)
    files = entries(data)
    assert ZIP_NAME == "flowcdr_azure_cdr_terraform.zip"
    assert sorted(files) == sorted(
        f"{FOLDER}/{name}" for name in (*TEMPLATES, "function_app.zip", "terraform.tfvars.json")
    )
    assert {"versions.tf", "variables.tf", "main.tf", "outputs.tf", "README.md"} <= set(TEMPLATES)
    assert files[f"{FOLDER}/function_app.zip"] == function_package()
    shipped = json.loads(files[f"{FOLDER}/terraform.tfvars.json"])
    assert shipped == tfvars("cfg-1", "azure-prod", ACCOUNTS, URL)


def test_connection_strings_are_only_in_the_tfvars_which_only_its_owner_reads() -> None:
    data = terraform_zip("cfg-1", "azure-prod", ACCOUNTS, URL)
    tfvars_name = f"{FOLDER}/terraform.tfvars.json"
    for name, content in entries(data).items():
        for account in ACCOUNTS:
            present = key(account.storage_account).encode() in content
            assert present == (name == tfvars_name), name
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in archive.infolist()}
    assert modes.pop(tfvars_name) == 0o600
    assert set(modes.values()) == {0o644}


def test_same_configuration_same_bytes() -> None:
    first = terraform_zip("cfg-1", "azure-prod", ACCOUNTS, URL)
    assert terraform_zip("cfg-1", "azure-prod", list(ACCOUNTS), URL) == first
    assert terraform_zip("cfg-2", "azure-prod", ACCOUNTS, URL) != first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
