# Identity and registration: one Azure AD application per configuration, allowed to read security
# data of the subscription and the flow-log blobs, registered with the gateway once.

data "azuread_client_config" "current" {}

data "azurerm_client_config" "current" {}

locals {
  # A stable suffix keeps the globally unique names (storage, Key Vault, Function host) of two
  # subscriptions or configurations apart, without a random provider.
  suffix             = substr(sha1("${var.subscription_id}/${var.flowlog_config_id}"), 0, 8)
  subscription_scope = "/subscriptions/${var.subscription_id}"
  gateway_url        = trimsuffix(var.apigw_url, "/")
  # timestamp() moves on every plan: resources using it ignore later changes of their end date.
  secrets_expire_at = timeadd(timestamp(), "${var.secret_lifetime_hours}h")
  regions           = sort(distinct([for entry in values(var.region_set) : lower(entry.location)]))
}

# The flow-log accounts are named in the configuration; their resource ids are looked up, since
# the resource group they live in is not part of a connection string.
data "azurerm_resources" "flow_logs" {
  for_each = var.region_set

  type = "Microsoft.Storage/storageAccounts"
  name = each.value.flow_logs_storage_account

  lifecycle {
    postcondition {
      condition     = length(self.resources) == 1
      error_message = "Expected exactly one storage account with this name in the subscription."
    }
  }
}

resource "azuread_application" "collector" {
  display_name     = "flowcdr-${var.deployment_name}"
  owners           = [data.azuread_client_config.current.object_id]
  sign_in_audience = "AzureADMyOrg"
}

resource "azuread_service_principal" "collector" {
  client_id = azuread_application.collector.client_id
  owners    = [data.azuread_client_config.current.object_id]
}

# A client secret with an end date: the gateway's inventory sync signs in with it (the
# registration carries it; the gateway keeps it encrypted), and tools that act as the application
# (the standalone collector reading blobs with Entra ID) may use it. A new client_secret_rotation
# value replaces it on the next apply, and the registration sends the new one.
resource "azuread_application_password" "collector" {
  application_id = azuread_application.collector.id
  display_name   = "flowcdr collector"
  end_date       = local.secrets_expire_at
  rotate_when_changed = {
    rotation = var.client_secret_rotation
  }

  lifecycle {
    ignore_changes = [end_date]
  }
}

# Security Reader: read-only security posture of the subscription (Defender, policies, resource
# groups), the context findings are shown in. It grants no data access.
resource "azurerm_role_assignment" "security_reader" {
  scope                = local.subscription_scope
  role_definition_name = "Security Reader"
  principal_id         = azuread_service_principal.collector.object_id
  principal_type       = "ServicePrincipal"
}

# Security Reader reads no network or compute resources: the inventory sync lists VMs, NICs,
# public IPs, VNets, NSGs, network watchers' flow logs and storage accounts' locations. A role of
# exactly those reads, rather than Reader, which reads every resource type (and Key Vault
# settings, App Service configuration and the like).
resource "azurerm_role_definition" "inventory_reader" {
  name        = "flowcdr inventory reader ${local.suffix}"
  scope       = local.subscription_scope
  description = "Reads the network inventory that flowcdr audits: VMs, NICs, public IPs, VNets, NSGs, flow logs, storage account locations."

  permissions {
    actions = [
      "Microsoft.Compute/virtualMachines/read",
      "Microsoft.Network/networkInterfaces/read",
      "Microsoft.Network/publicIPAddresses/read",
      "Microsoft.Network/virtualNetworks/read",
      "Microsoft.Network/virtualNetworks/subnets/read",
      "Microsoft.Network/networkSecurityGroups/read",
      "Microsoft.Network/applicationSecurityGroups/read",
      "Microsoft.Network/networkWatchers/read",
      "Microsoft.Network/networkWatchers/flowLogs/read",
      "Microsoft.Storage/storageAccounts/read",
    ]
    not_actions = []
  }

  assignable_scopes = [local.subscription_scope]
}

resource "azurerm_role_assignment" "inventory_reader" {
  scope              = local.subscription_scope
  role_definition_id = azurerm_role_definition.inventory_reader.role_definition_resource_id
  principal_id       = azuread_service_principal.collector.object_id
  principal_type     = "ServicePrincipal"
}

# Security Reader cannot read blobs (it has no data actions): Storage Blob Data Reader on each
# flow-log account, and nothing wider, lets the application read PT1H.json with Entra ID.
resource "azurerm_role_assignment" "flow_log_reader" {
  for_each = var.region_set

  scope                = one(data.azurerm_resources.flow_logs[each.key].resources).id
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = azuread_service_principal.collector.object_id
  principal_type       = "ServicePrincipal"
}

# Registration with the gateway. terraform_data with local-exec runs once, on create (and when a
# trigger changes), never on plan; a data "http" source would POST on every plan and refresh and
# keep request and response in state. The destroy-time provisioner deregisters: it may only read
# self, so what it needs is kept in the resource. The token and the client secret are triggers, not
# part of input: terraform_data copies input to its output attribute, which a destroy plan prints
# unmasked. So a new token or a rotated secret replaces the registration: deregistered, then
# registered again with the new values.
resource "terraform_data" "registration" {
  triggers_replace = {
    client_id       = azuread_application.collector.client_id
    subscription_id = var.subscription_id
    config_id       = var.flowlog_config_id
    regions         = local.regions
    gateway_url     = local.gateway_url
    token           = var.subscription_token
    client_secret   = azuread_application_password.collector.value
  }

  input = {
    connectors_url = "${local.gateway_url}/cdr/v1/azure/connectors"
    client_id      = azuread_application.collector.client_id
    body = jsonencode({
      tenantId       = data.azuread_client_config.current.tenant_id
      clientId       = azuread_application.collector.client_id
      subscriptionId = lower(var.subscription_id)
      configId       = var.flowlog_config_id
      regions        = local.regions
    })
  }

  # The token goes to curl on its standard input and the body (with the client secret) on file
  # descriptor 3 (printf is a shell builtin), so no process listing shows either; both are also
  # hidden from Terraform's output as sensitive values.
  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    command     = "printf '%s' \"$FLOWCDR_BODY\" | { printf 'Authorization: Bearer %s\\n' \"$FLOWCDR_TOKEN\" | curl --fail-with-body --silent --show-error --proto '=https' --retry 3 --header @- --header 'Content-Type: application/json' --data-binary @/dev/fd/3 \"$FLOWCDR_URL/register\"; } 3<&0"
    environment = {
      FLOWCDR_URL   = self.input.connectors_url
      FLOWCDR_TOKEN = self.triggers_replace.token
      FLOWCDR_BODY  = jsonencode(merge(jsondecode(self.input.body), { clientSecret = self.triggers_replace.client_secret }))
    }
  }

  # A gateway that is gone or a revoked token must not block destroy: the failure is printed and
  # the connector can be deleted in the portal.
  provisioner "local-exec" {
    when        = destroy
    on_failure  = continue
    interpreter = ["/bin/sh", "-c"]
    command     = "printf 'Authorization: Bearer %s\\n' \"$FLOWCDR_TOKEN\" | curl --fail-with-body --silent --show-error --proto '=https' --retry 3 --header @- --request DELETE \"$FLOWCDR_URL/$FLOWCDR_CLIENT_ID\""
    environment = {
      FLOWCDR_URL       = self.input.connectors_url
      FLOWCDR_TOKEN     = self.triggers_replace.token
      FLOWCDR_CLIENT_ID = self.input.client_id
    }
  }

  depends_on = [azurerm_role_assignment.security_reader, azurerm_role_assignment.flow_log_reader]
}
