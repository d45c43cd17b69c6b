"""GET /cdr/v1/azure/flowlogs/{id}/scripts: the Terraform zip, for admins, audited."""

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from flowcdr.api.app import create_app
from flowcdr.config import Settings
from flowcdr.deploy.module import FOLDER, ZIP_NAME

from .conftest import Gateway, seed
from .test_flowlogs import KEY, config, connection, create

TFVARS = f"{FOLDER}/terraform.tfvars.json"


def three_buckets() -> dict[str, Any]:
    return config(
        buckets=[
            {"storageAccount": name, "region": region, "connectionString": connection(name)}
            for name, region in (
                ("flowlogseast01", "eastus"),
                ("flowlogsweu01", "westeurope"),
                ("flowlogseast02", "eastus"),
            )
        ]
    )


def download(gateway: Gateway, config_id: str, user: str = "alice") -> Any:
    return gateway.client.get(
        f"/cdr/v1/azure/flowlogs/{config_id}/scripts", headers=gateway.bearer(user)
    )


def unpacked(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_an_admin_downloads_the_module_of_a_configuration(gateway: Gateway) -> None:
    created = create(gateway, three_buckets())
    response = download(gateway, created["id"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == f'attachment; filename="{ZIP_NAME}"'
    assert response.headers["cache-control"] == "no-store"
    files = unpacked(response.content)
    assert sorted(name.removeprefix(f"{FOLDER}/") for name in files) == [
        "README.md",
        "collector.tf",
        "function_app.zip",
        "main.tf",
        "outputs.tf",
        "terraform.tfvars.json",
        "variables.tf",
        "versions.tf",
    ]
    tfvars = json.loads(files[TFVARS])
    assert tfvars["subscription_token"] == ""
    assert tfvars["apigw_url"] == "http://testserver"  # no public_url: the request's address
    assert tfvars["flowlog_config_id"] == created["id"]
    assert tfvars["deployment_name"] == "azure-prod-eastus"
    assert tfvars["region_set"] == {
        f"location{n}": {
            "location": region,
            "flow_logs_storage_account": name,
            "flow_logs_storage_connection_string": connection(name),
        }
        for n, (name, region) in enumerate(
            (("flowlogseast01", "eastus"), ("flowlogsweu01", "westeurope"),
             ("flowlogseast02", "eastus")),
            start=1,
        )
    }  # fmt: skip
    assert [name for name, data in files.items() if KEY.encode() in data] == [TFVARS]
    assert download(gateway, created["id"]).content == response.content  # same bytes


def test_the_download_is_audited(gateway: Gateway) -> None:
    created = create(gateway)
    assert download(gateway, created["id"]).status_code == 200
    entries = gateway.client.get("/cdr/v1/audit", headers=gateway.bearer("alice")).json()
    actions = [(e["actor"], e["action"], e["target"]) for e in entries]
    assert ("alice", "flowlog_config.download_scripts", created["id"]) in actions


def test_only_admins_of_the_tenant_download(gateway: Gateway) -> None:
    created = create(gateway)
    assert download(gateway, created["id"], "amy").status_code == 403  # analyst
    assert download(gateway, created["id"], "bob").status_code == 404  # other tenant
    assert download(gateway, "no-such-id").status_code == 404
    anonymous = gateway.client.get(f"/cdr/v1/azure/flowlogs/{created['id']}/scripts")
    assert anonymous.status_code == 401


@pytest.fixture
def public_gateway(settings: Settings, password_hash: str) -> Iterator[Gateway]:
    configured = settings.model_copy(update={"public_url": "https://cdr.example.com/"})
    seed(configured, password_hash)
    with TestClient(create_app(configured)) as client:
        yield Gateway(client, configured)


def test_apigw_url_is_the_public_url_when_set(public_gateway: Gateway) -> None:
    created = create(public_gateway)
    files = unpacked(download(public_gateway, created["id"]).content)
    assert json.loads(files[TFVARS])["apigw_url"] == "https://cdr.example.com"
