"""The Terraform module: structure (python-hcl2), and the tools that judge it where they exist.

Structure is checked on every run. ``terraform fmt`` runs when a Terraform binary is on the
PATH; ``terraform validate`` needs the azurerm and azuread providers, which come from the
Terraform registry (out of this network's reach), so it runs only given a local provider mirror
in ``FLOWCDR_TERRAFORM_MIRROR``. checkov runs from its own virtualenv (``make test`` builds
``build/checkov``): skipped when absent, a failure when ``FLOWCDR_FUNCTIONAL_TESTS=1``.
"""

import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from flowcdr.collect.source import NSG_CONTAINER, VNET_CONTAINER
from flowcdr.deploy.module import FOLDER, terraform_zip, tfvars

from .hcl import TEMPLATES, load
from .test_module import ACCOUNTS, URL

REPO = Path(__file__).resolve().parents[3]
CHECKOV = Path(os.environ.get("FLOWCDR_CHECKOV", REPO / "build" / "checkov" / "bin" / "checkov"))
FUNCTIONAL = os.environ.get("FLOWCDR_FUNCTIONAL_TESTS") == "1"
GUID = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"


def resources(module: dict[str, Any], type_: str) -> dict[str, Any]:
    found: dict[str, Any] = module["resource"].get(type_, {})
    assert found, f"no {type_} resource"
    return found


def one(module: dict[str, Any], type_: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = resources(module, type_)[name]
    return body


def test_every_file_parses() -> None:
    for path in sorted(TEMPLATES.glob("*.tf")):
        assert load(path), path.name


def test_providers_are_pinned_to_their_major_versions(module: dict[str, Any]) -> None:
    (required,) = module["terraform"]["required_providers"]
    assert required["azurerm"]["version"] == ">= 4.42.0, < 5.0.0"
    assert required["azuread"]["version"] == ">= 3.0.0, < 4.0.0"
    used = {t.split("_")[0] for kind in ("resource", "data") for t in module[kind]}
    assert used == {"azurerm", "azuread", "terraform"}  # terraform_data is built in


def test_subscription_id_is_asked_for_and_must_be_a_guid(module: dict[str, Any]) -> None:
    variable = module["variable"]["subscription_id"]
    assert "default" not in variable
    (validation,) = variable["validation"]
    pattern = re.search(r'regex\("(.+?)", var\.subscription_id', validation["condition"])
    assert pattern is not None
    guid = re.compile(pattern.group(1).replace("\\\\", "\\"))
    assert guid.match(GUID)
    assert guid.match(GUID.upper())
    for wrong in ("", "{" + GUID + "}", GUID[:-1], "x" * 36):
        assert not guid.match(wrong), wrong


def test_the_tfvars_fit_the_variables(module: dict[str, Any]) -> None:
    variables = module["variable"]
    shipped = tfvars("cfg", "azure-prod", ACCOUNTS, URL)
    assert set(shipped) <= set(variables)
    assert {n for n, v in variables.items() if "default" not in v} - set(shipped) == {
        "subscription_id"
    }
    region_type = variables["region_set"]["type"]
    for entry in shipped["region_set"].values():
        for attribute in entry:
            assert f"{attribute}=string" in region_type.replace(" ", ""), attribute
    assert variables["subscription_token"]["sensitive"] is True


def test_the_application_its_roles_and_its_credential(module: dict[str, Any]) -> None:
    assert one(module, "azuread_application", "collector")["display_name"].startswith("flowcdr-")
    principal = "${azuread_service_principal.collector.object_id}"
    assert one(module, "azuread_service_principal", "collector")["client_id"] == (
        "${azuread_application.collector.client_id}"
    )
    password = one(module, "azuread_application_password", "collector")
    assert password["end_date"] == "${local.secrets_expire_at}"
    reader = one(module, "azurerm_role_assignment", "security_reader")
    assert reader["role_definition_name"] == "Security Reader"
    assert reader["scope"] == "${local.subscription_scope}"
    assert module["locals"]["subscription_scope"] == "/subscriptions/${var.subscription_id}"
    assert reader["principal_id"] == principal
    blobs = one(module, "azurerm_role_assignment", "flow_log_reader")
    assert blobs["role_definition_name"] == "Storage Blob Data Reader"
    assert blobs["scope"] == "${one(data.azurerm_resources.flow_logs[each.key].resources).id}"
    assert blobs["principal_id"] == principal
    roles = {
        r.get("role_definition_name") for r in resources(module, "azurerm_role_assignment").values()
    }
    assert not roles & {"Owner", "Contributor", "Reader", "Storage Blob Data Contributor"}


def test_the_inventory_role_only_reads(module: dict[str, Any]) -> None:
    role = one(module, "azurerm_role_definition", "inventory_reader")
    assert role["assignable_scopes"] == ["${local.subscription_scope}"]
    (permissions,) = role["permissions"]
    assert permissions["actions"]
    assert all(action.endswith("/read") for action in permissions["actions"])
    assert {a.split("/")[0] for a in permissions["actions"]} == {
        "Microsoft.Compute", "Microsoft.Network", "Microsoft.Storage"
    }  # fmt: skip
    assert "Microsoft.Network/networkWatchers/flowLogs/read" in permissions["actions"]
    assigned = one(module, "azurerm_role_assignment", "inventory_reader")
    assert assigned["role_definition_id"] == (
        "${azurerm_role_definition.inventory_reader.role_definition_resource_id}"
    )
    assert assigned["scope"] == "${local.subscription_scope}"
    assert assigned["principal_id"] == "${azuread_service_principal.collector.object_id}"


def test_registration_runs_once_and_destroy_deregisters(module: dict[str, Any]) -> None:
    assert "http" not in module["data"]  # would POST on every plan and keep bodies in state
    registration = one(module, "terraform_data", "registration")
    create, destroy = registration["provisioner"]
    create, destroy = create["local-exec"], destroy["local-exec"]
    assert "when" not in create
    assert "$FLOWCDR_URL/register" in create["command"]
    assert destroy["when"] == "destroy"
    assert destroy["on_failure"] == "continue"
    assert "--request DELETE" in destroy["command"]
    for step in (create, destroy):
        assert "$FLOWCDR_TOKEN" in step["command"]
        assert "--header @-" in step["command"]  # the token on stdin, not in argv
        assert step["environment"]["FLOWCDR_TOKEN"] == "${self.triggers_replace.token}"
    # input is copied to the output attribute, which a destroy plan prints unmasked.
    assert "var.subscription_token" not in json.dumps(registration["input"])
    assert "password" not in json.dumps(registration["input"])


def test_registration_carries_the_client_secret_off_the_command_line(
    module: dict[str, Any],
) -> None:
    registration = one(module, "terraform_data", "registration")
    secret = "${azuread_application_password.collector.value}"
    assert registration["triggers_replace"]["client_secret"] == secret  # rotated: registered again
    create = registration["provisioner"][0]["local-exec"]
    assert "self.triggers_replace.client_secret" in create["environment"]["FLOWCDR_BODY"]
    assert "--data-binary @/dev/fd/3" in create["command"]  # the body on a descriptor, not argv
    assert create["command"].startswith("printf '%s' \\\"$FLOWCDR_BODY\\\" |")
    password = one(module, "azuread_application_password", "collector")
    assert password["rotate_when_changed"] == {"rotation": "${var.client_secret_rotation}"}


def test_one_collector_per_flow_log_account(module: dict[str, Any]) -> None:
    for type_ in (
        "azurerm_resource_group",
        "azurerm_storage_account",
        "azurerm_key_vault",
        "azurerm_service_plan",
        "azurerm_function_app_flex_consumption",
        "azurerm_user_assigned_identity",
    ):
        (body,) = resources(module, type_).values()
        assert body["for_each"] == "${var.region_set}", type_
    plan = one(module, "azurerm_service_plan", "collector")
    assert (plan["os_type"], plan["sku_name"]) == ("Linux", "FC1")


def test_function_storage_is_tls12_private_and_keyless(module: dict[str, Any]) -> None:
    account = one(module, "azurerm_storage_account", "collector")
    assert account["min_tls_version"] == "TLS1_2"
    assert account["https_traffic_only_enabled"] is True
    assert account["allow_nested_items_to_be_public"] is False
    assert account["shared_access_key_enabled"] is False
    assert one(module, "azurerm_storage_container", "package")["container_access_type"] == "private"


def test_function_app_https_python312_identity_and_key_vault_references(
    module: dict[str, Any],
) -> None:
    app = one(module, "azurerm_function_app_flex_consumption", "collector")
    assert app["https_only"] is True
    assert (app["runtime_name"], app["runtime_version"]) == ("python", "3.12")
    assert app["zip_deploy_file"] == "${path.module}/function_app.zip"
    (identity,) = app["identity"]
    assert identity["type"] == "UserAssigned"
    assert app["storage_authentication_type"] == "UserAssignedIdentity"
    assert app["key_vault_reference_identity_id"] == identity["identity_ids"][0]
    (site,) = app["site_config"]
    assert site["minimum_tls_version"] == "1.2"
    settings = app["app_settings"]
    for name in ("FLOWCDR_SUBSCRIPTION_TOKEN", "FLOWLOG_STORAGE"):
        assert settings[name].startswith(
            "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret."
        )
    assert settings["AzureWebJobsStorage__accountName"].startswith("${azurerm_storage_account.")
    vault = one(module, "azurerm_key_vault", "collector")
    assert vault["rbac_authorization_enabled"] is True
    for secret in resources(module, "azurerm_key_vault_secret").values():
        assert secret["content_type"]
        assert secret["expiration_date"] == "${local.secrets_expire_at}"


def test_event_grid_wakes_the_function_for_both_flow_log_containers(
    module: dict[str, Any],
) -> None:
    topic = one(module, "azurerm_eventgrid_system_topic", "flow_logs")
    assert topic["topic_type"] == "Microsoft.Storage.StorageAccounts"
    subscription = one(module, "azurerm_eventgrid_system_topic_event_subscription", "flow_logs")
    assert subscription["included_event_types"] == ["Microsoft.Storage.BlobCreated"]
    (subject,) = subscription["subject_filter"]
    assert subject["subject_begins_with"] == (
        "/blobServices/default/containers/${each.value.container}/"
    )
    routes = module["locals"]["flow_log_routes"]
    assert {route["container"] for route in routes.values()} == {VNET_CONTAINER, NSG_CONTAINER}
    (webhook,) = subscription["webhook_endpoint"]
    assert webhook["url"].startswith("https://")
    assert "blobs_extension_key" in webhook["url"]


def test_outputs_and_which_are_sensitive(module: dict[str, Any]) -> None:
    outputs = module["output"]
    assert {"client_id", "tenant_id", "function_app_names", "registration_status"} <= set(outputs)
    secret = re.compile(r"password|secret|token|connection", re.I)
    for name, output in outputs.items():
        touches_secret = bool(secret.search(output["value"]))
        assert output.get("sensitive", False) is touches_secret, name
    assert outputs["client_secret"]["sensitive"] is True


def test_every_checkov_skip_says_why() -> None:
    skips = re.findall(r"#checkov:skip=([^:\n]*):?(.*)", "".join(
        p.read_text() for p in sorted(TEMPLATES.glob("*.tf"))
    ))  # fmt: skip
    assert skips
    for check, reason in skips:
        assert re.fullmatch(r"CKV2?_AZURE_\d+", check), check
        assert len(reason.strip()) > 20, check


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary on the PATH")
def test_terraform_fmt_is_clean() -> None:
    done = subprocess.run(
        ["terraform", "fmt", "-check", "-diff", "-no-color", str(TEMPLATES)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr


def unpacked_module(folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(terraform_zip("cfg", "azure-prod", ACCOUNTS, URL))) as z:
        z.extractall(folder)
    return folder / FOLDER


@pytest.mark.skipif(
    shutil.which("terraform") is None or not os.environ.get("FLOWCDR_TERRAFORM_MIRROR"),
    reason="terraform validate needs the azurerm and azuread providers: set "
    "FLOWCDR_TERRAFORM_MIRROR to a provider mirror (the Terraform registry is out of reach here)",
)
def test_terraform_validate(tmp_path: Path) -> None:
    folder = unpacked_module(tmp_path)
    config = tmp_path / "terraform.rc"
    mirror = os.environ["FLOWCDR_TERRAFORM_MIRROR"]
    config.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
    )
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "CHECKPOINT_DISABLE": "1"}
    for command in (["init", "-backend=false", "-input=false"], ["validate", "-no-color"]):
        done = subprocess.run(
            ["terraform", *command], cwd=folder, capture_output=True, text=True, check=False,
            env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


def test_checkov_finds_no_failed_check(tmp_path: Path) -> None:
    if not CHECKOV.exists():
        if FUNCTIONAL:
            pytest.fail(f"checkov is not installed at {CHECKOV}: run make test")
        pytest.skip(f"checkov is not installed at {CHECKOV} (make test builds it)")
    folder = unpacked_module(tmp_path)
    done = subprocess.run(
        [str(CHECKOV), "-d", str(folder), "--framework", "terraform", "--skip-download",
         "--output", "json"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    report = json.loads(done.stdout)
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert summary["parsing_errors"] == 0
    assert summary["passed"] >= 15  # it did scan the module
    for check in report["results"]["skipped_checks"]:
        assert len(check["check_result"].get("suppress_comment", "").strip()) > 20, check


def test_names_fit_azure_limits_for_the_largest_configuration(module: dict[str, Any]) -> None:
    """50 buckets (the API's maximum) and a 64-character deployment name still give valid names:
    storage accounts 3-24 lower-case letters and digits, vaults 3-24, Function apps up to 32
    (longer host ids collide), resource groups up to 90."""
    values = {
        "${each.key}": "location50",
        '${trimprefix(each.key, "location")}': "50",
        "${local.suffix}": "0123abcd",
        "${var.deployment_name}": "azure-" + "x" * 58,
    }

    def name(type_: str, resource: str) -> str:
        text: str = one(module, type_, resource)["name"]
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        assert "${" not in text, text
        return text

    assert re.fullmatch(r"[a-z0-9]{3,24}", name("azurerm_storage_account", "collector"))
    assert re.fullmatch(
        r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", name("azurerm_key_vault", "collector")
    )
    assert len(name("azurerm_function_app_flex_consumption", "collector")) <= 32
    assert len(name("azurerm_resource_group", "collector")) <= 90
