"""The module's registration, run by a real Terraform against the real gateway: terraform apply
registers the application once, a second apply changes nothing, terraform destroy deregisters,
and the token never shows in Terraform's output.

The ``terraform_data.registration`` block is taken from the shipped ``main.tf`` as it is; only
what needs Azure is replaced (the application's ids become literals, ``depends_on`` goes) and
curl may use plain http, since this gateway listens on loopback without TLS. Needs a Terraform
binary: skipped without one, and without one in CI too (no package of it exists to install)."""

import base64
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from flowcdr.config import Settings
from flowcdr.store.control import ControlStore

from .server import COMMAND_SECONDS, DIRECT, Gateway, call, clean_env

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary on the PATH"),
]

MAIN_TF = Path(__file__).resolve().parents[2] / "src/flowcdr/deploy/terraform/main.tf"
CLIENT = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUBSCRIPTION = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
# As Entra ID generates them: letters, digits and ~ . _ - (a quote would test JSON escaping too).
SECRET = 'Zq8~Qm.first_SECRET-"x'
ROTATED = "Zq8~Qm.rotated_SECRET-y"
TERRAFORM_SECONDS = 120


def registration_module() -> str:
    text = MAIN_TF.read_text()
    start = text.index('resource "terraform_data" "registration" {')
    block = text[start : text.index("\n}\n", start) + 3]
    block = re.sub(r"\n  depends_on = \[[^\]]*\]\n", "\n", block)
    block = block.replace("azuread_application.collector.client_id", f'"{CLIENT}"')
    block = block.replace("data.azuread_client_config.current.tenant_id", f'"{TENANT}"')
    block = block.replace("azuread_application_password.collector.value", "var.client_secret")
    block = block.replace("--proto '=https'", "--proto '=http'")
    assert "azuread" not in block
    assert "azurerm" not in block
    return f"""
variable "subscription_token" {{
  type      = string
  sensitive = true
}}
variable "client_secret" {{
  type      = string
  sensitive = true
}}
variable "apigw_url" {{
  type = string
}}
variable "subscription_id" {{
  type = string
}}
variable "flowlog_config_id" {{
  type = string
}}
variable "regions" {{
  type = list(string)
}}
locals {{
  gateway_url = trimsuffix(var.apigw_url, "/")
  regions     = var.regions
}}
{block}"""


def sign_in(gateway: Gateway) -> str:
    request = urllib.request.Request(
        gateway.base_url + "/auth",
        method="POST",
        data=f"username=alice&password={gateway.password}&token=true".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with DIRECT.open(request, timeout=COMMAND_SECONDS) as response:
        token: str = response.read().decode()
    return token


def gateway_secret(gateway: Gateway) -> str | None:
    """The client secret as the gateway's control store decrypts it (the API never shows it);
    in the database file and the log it must not appear in clear."""
    for path in gateway.data_dir.glob("control.db*"):
        assert b"_SECRET-" not in path.read_bytes(), path
    assert "_SECRET-" not in gateway.log()
    store = ControlStore.open(Settings(data_dir=gateway.data_dir))
    try:
        (tenant_id,) = {user.tenant_id for user in store.users()}
        return store.connector_secret(tenant_id, CLIENT)
    finally:
        store.close()


def test_apply_registers_once_and_destroy_deregisters(
    tmp_path: Path, gateway: Gateway, subscription_token: str
) -> None:
    folder = tmp_path / "module"
    folder.mkdir()
    (folder / "main.tf").write_text(registration_module())
    env = clean_env(tmp_path)
    env.update(TF_CLI_CONFIG_FILE="/dev/null", CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    variables = [
        f"-var=subscription_token={subscription_token}",
        f"-var=client_secret={SECRET}",
        f"-var=apigw_url={gateway.base_url}/",
        f"-var=subscription_id={SUBSCRIPTION}",
        '-var=regions=["eastus","westeurope"]',
    ]

    def terraform(*command: str) -> str:
        done = subprocess.run(
            ["terraform", *command, "-no-color", "-input=false"],
            cwd=folder, env=env, capture_output=True, text=True, check=False,
            timeout=TERRAFORM_SECONDS,
        )  # fmt: skip
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        assert subscription_token not in output  # sensitive: suppressed in Terraform's output
        assert "_SECRET-" not in output
        return output

    admin = sign_in(gateway)
    key = base64.b64encode(b"flowcdr-test-account-key-material-0123456789").decode()
    status, config = call(gateway, "POST", "/cdr/v1/azure/flowlogs", admin, {
        "deploymentName": "azure-prod-eastus",
        "subscriptionId": SUBSCRIPTION,
        "buckets": [{
            "storageAccount": "flowlogseast01",
            "region": "eastus",
            "connectionString": "DefaultEndpointsProtocol=https;AccountName=flowlogseast01;"
            f"AccountKey={key};EndpointSuffix=core.windows.net",
        }],
    })  # fmt: skip
    assert status == 201, config
    variables.append(f"-var=flowlog_config_id={config['id']}")
    terraform("init")
    terraform("apply", "-auto-approve", *variables)
    status, listed = call(gateway, "GET", "/cdr/v1/azure/connectors", admin)
    assert status == 200, listed
    (connector,) = listed
    assert (connector["clientId"], connector["tenantId"]) == (CLIENT, TENANT)
    assert connector["subscriptionId"] == SUBSCRIPTION
    assert connector["regions"] == ["eastus", "westeurope"]
    assert connector["configId"] == config["id"]
    assert connector["hasCredential"] is True
    assert "_SECRET-" not in str(listed)
    assert gateway_secret(gateway) == SECRET
    again = terraform("apply", "-auto-approve", *variables)
    assert "0 added, 0 changed, 0 destroyed" in again
    assert call(gateway, "GET", "/cdr/v1/azure/connectors", admin)[1] == [connector]
    # A fresh token replaces the registration: deregistered with the old, registered with the new.
    status, issued = call(gateway, "POST", "/qas/subscription-token", admin, {"expiry": 60})
    assert status == 200, issued
    fresh = issued["subscriptionToken"]
    variables[0] = f"-var=subscription_token={fresh}"
    rotated = terraform("apply", "-auto-approve", *variables)
    assert "1 added, 0 changed, 1 destroyed" in rotated
    assert fresh not in rotated
    (connector,) = call(gateway, "GET", "/cdr/v1/azure/connectors", admin)[1]
    assert connector["clientId"] == CLIENT
    # A rotated client secret (client_secret_rotation in the module) is sent again the same way.
    variables[1] = f"-var=client_secret={ROTATED}"
    assert "1 added, 0 changed, 1 destroyed" in terraform("apply", "-auto-approve", *variables)
    assert gateway_secret(gateway) == ROTATED
    destroyed = terraform("destroy", "-auto-approve", *variables)
    assert fresh not in destroyed
    assert call(gateway, "GET", "/cdr/v1/azure/connectors", admin) == (200, [])
    status, entries = call(gateway, "GET", "/cdr/v1/audit", admin)
    actions = [(e["action"], e["target"]) for e in entries]
    assert actions.count(("connector.register", CLIENT)) == 3
    assert actions.count(("connector.deregister", CLIENT)) == 3
