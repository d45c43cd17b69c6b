# Per entry of region_set (one flow-log storage account): a resource group holding the Function
# that collects that account, its own storage, its Key Vault, and the Event Grid subscriptions
# that wake it for each new block of a flow-log blob.

locals {
  # The blob trigger functions of function_app.py, by the container whose events they take.
  flow_log_routes = {
    vnet = { container = "insights-logs-flowlogflowevent", function = "collect_vnet_blob" }
    nsg  = { container = "insights-logs-networksecuritygroupflowevent", function = "collect_nsg_blob" }
  }
  event_routes = merge([
    for key, entry in var.region_set : {
      for kind, route in local.flow_log_routes : "${key}-${kind}" => merge(route, { entry = key })
    }
  ]...)

  # What the Function's identity needs on its own account: the host's leases and the dead-letter
  # container (blobs), the checkpoints (tables), the blob trigger's poison queue (queues).
  function_storage_roles = ["Storage Blob Data Owner", "Storage Table Data Contributor", "Storage Queue Data Contributor"]
  function_storage_grants = {
    for pair in setproduct(keys(var.region_set), local.function_storage_roles) :
    "${pair[0]}/${pair[1]}" => { entry = pair[0], role = pair[1] }
  }
}

resource "azurerm_resource_group" "collector" {
  for_each = var.region_set

  name     = "rg-flowcdr-${var.deployment_name}-${each.key}"
  location = each.value.location
}

# The identity is user-assigned so that its roles exist before the Function app does: the zip is
# deployed while the app is created, and the deployment already reads the package container as
# this identity (a system-assigned identity only exists once the app does).
resource "azurerm_user_assigned_identity" "collector" {
  for_each = var.region_set

  name                = "id-flowcdr-${each.key}"
  resource_group_name = azurerm_resource_group.collector[each.key].name
  location            = each.value.location
}

resource "azurerm_storage_account" "collector" {
  #checkov:skip=CKV_AZURE_59:The Flex Consumption app runs without a virtual network here, so it reaches its own account over the public endpoint; shared keys are off and access is Entra ID only.
  #checkov:skip=CKV2_AZURE_33:Private endpoints need a virtual network the module does not own; access is Entra ID only.
  #checkov:skip=CKV2_AZURE_1:Customer-managed keys add a key lifecycle for checkpoints and a code package; Microsoft-managed encryption applies.
  #checkov:skip=CKV_AZURE_206:Checkpoints and the package are rebuildable (a lost checkpoint re-reads blobs and idempotency keys drop the repeats), so LRS suffices.
  #checkov:skip=CKV_AZURE_33:Queue logging is written through the data plane with shared keys, which this account refuses; the only queue is the blob trigger's poison queue.
  for_each = var.region_set

  name                              = "fcdr${each.key}${local.suffix}"
  resource_group_name               = azurerm_resource_group.collector[each.key].name
  location                          = each.value.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = "LRS"
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  local_user_enabled                = false
  infrastructure_encryption_enabled = true

  sas_policy {
    expiration_period = "01.00:00:00"
  }

  blob_properties {
    delete_retention_policy {
      days = 7
    }
    container_delete_retention_policy {
      days = 7
    }
  }
}

resource "azurerm_storage_container" "package" {
  #checkov:skip=CKV2_AZURE_21:Blob read logging of a container that only holds the Function package would need a Log Analytics workspace the module does not create.
  for_each = var.region_set

  name                  = "function-package"
  storage_account_id    = azurerm_storage_account.collector[each.key].id
  container_access_type = "private"
}

resource "azurerm_role_assignment" "function_storage" {
  for_each = local.function_storage_grants

  scope                = azurerm_storage_account.collector[each.value.entry].id
  role_definition_name = each.value.role
  principal_id         = azurerm_user_assigned_identity.collector[each.value.entry].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_key_vault" "collector" {
  #checkov:skip=CKV_AZURE_109:Key Vault references of a Function without a virtual network resolve over the public endpoint, and the firewall's trusted-service bypass does not cover them; access is Azure RBAC only.
  #checkov:skip=CKV_AZURE_189:As above: the Function resolves its references over the public endpoint.
  #checkov:skip=CKV2_AZURE_32:Private endpoints need a virtual network the module does not own.
  #checkov:skip=CKV_AZURE_42:The vault holds copies of secrets kept elsewhere (the gateway's token, the flow-log account key); terraform destroy must remove it, which purge protection forbids for 7 to 90 days.
  #checkov:skip=CKV_AZURE_110:As above: purge protection would keep the vault after terraform destroy.
  for_each = var.region_set

  name                          = "kv-fcdr-${trimprefix(each.key, "location")}-${local.suffix}"
  resource_group_name           = azurerm_resource_group.collector[each.key].name
  location                      = each.value.location
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "standard"
  rbac_authorization_enabled    = true
  purge_protection_enabled      = false
  soft_delete_retention_days    = 7
  public_network_access_enabled = true

  network_acls {
    default_action = "Allow"
    bypass         = "AzureServices"
  }
}

# Whoever runs terraform apply writes the secrets; the Function's identity only reads them.
resource "azurerm_role_assignment" "deployer_secrets" {
  for_each = var.region_set

  scope                = azurerm_key_vault.collector[each.key].id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_role_assignment" "function_secrets" {
  for_each = var.region_set

  scope                = azurerm_key_vault.collector[each.key].id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.collector[each.key].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_key_vault_secret" "subscription_token" {
  for_each = var.region_set

  name            = "flowcdr-subscription-token"
  value           = var.subscription_token
  key_vault_id    = azurerm_key_vault.collector[each.key].id
  content_type    = "flowcdr subscription token"
  expiration_date = local.secrets_expire_at

  lifecycle {
    ignore_changes = [expiration_date]
  }

  depends_on = [azurerm_role_assignment.deployer_secrets]
}

resource "azurerm_key_vault_secret" "flow_logs_connection" {
  for_each = var.region_set

  name            = "flow-logs-storage-connection-string"
  value           = each.value.flow_logs_storage_connection_string
  key_vault_id    = azurerm_key_vault.collector[each.key].id
  content_type    = "Azure Storage connection string"
  expiration_date = local.secrets_expire_at

  lifecycle {
    ignore_changes = [expiration_date]
  }

  depends_on = [azurerm_role_assignment.deployer_secrets]
}

# Flex Consumption (FC1): Linux Consumption (Y1) gets no new Python versions and retires in
# September 2028, and FC1 takes Event Grid blob triggers, scales per event and has no 10-minute cap.
resource "azurerm_service_plan" "collector" {
  #checkov:skip=CKV_AZURE_212:Flex Consumption scales from zero per event; a minimum instance count is a Premium and Dedicated setting.
  #checkov:skip=CKV_AZURE_225:Zone redundancy is a Premium and Dedicated setting; a collector that misses a zone catches up from its checkpoints.
  for_each = var.region_set

  name                = "asp-flowcdr-${each.key}"
  resource_group_name = azurerm_resource_group.collector[each.key].name
  location            = each.value.location
  os_type             = "Linux"
  sku_name            = "FC1"
}

resource "azurerm_function_app_flex_consumption" "collector" {
  for_each = var.region_set

  name                = "func-flowcdr-${each.key}-${local.suffix}"
  resource_group_name = azurerm_resource_group.collector[each.key].name
  location            = each.value.location
  service_plan_id     = azurerm_service_plan.collector[each.key].id

  runtime_name           = "python"
  runtime_version        = "3.12"
  maximum_instance_count = 40
  instance_memory_in_mb  = 2048
  zip_deploy_file        = "${path.module}/function_app.zip"

  storage_container_type            = "blobContainer"
  storage_container_endpoint        = "${azurerm_storage_account.collector[each.key].primary_blob_endpoint}${azurerm_storage_container.package[each.key].name}"
  storage_authentication_type       = "UserAssignedIdentity"
  storage_user_assigned_identity_id = azurerm_user_assigned_identity.collector[each.key].id

  https_only                      = true
  public_network_access_enabled   = true # Event Grid delivers to a public webhook
  key_vault_reference_identity_id = azurerm_user_assigned_identity.collector[each.key].id

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.collector[each.key].id]
  }

  site_config {
    minimum_tls_version     = "1.2"
    scm_minimum_tls_version = "1.2"
    http2_enabled           = true
  }

  # Secrets are Key Vault references, resolved by the platform; none is in the app's settings.
  app_settings = {
    AzureWebJobsStorage__accountName = azurerm_storage_account.collector[each.key].name
    AzureWebJobsStorage__credential  = "managedidentity"
    AzureWebJobsStorage__clientId    = azurerm_user_assigned_identity.collector[each.key].client_id
    AZURE_CLIENT_ID                  = azurerm_user_assigned_identity.collector[each.key].client_id
    FLOWCDR_GATEWAY_URL              = local.gateway_url
    FLOWCDR_CONNECTOR_ID             = azuread_application.collector.client_id
    FLOWCDR_SUBSCRIPTION_TOKEN       = "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.subscription_token[each.key].versionless_id})"
    FLOWLOG_STORAGE                  = "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.flow_logs_connection[each.key].versionless_id})"
  }

  depends_on = [azurerm_role_assignment.function_storage, azurerm_role_assignment.function_secrets]
}

# Event Grid checks the webhook when the subscription is created, so the keys are read (and the
# subscriptions made) only once the app and its code exist.
data "azurerm_function_app_host_keys" "collector" {
  for_each = var.region_set

  name                = azurerm_function_app_flex_consumption.collector[each.key].name
  resource_group_name = azurerm_resource_group.collector[each.key].name
}

# A storage account takes one system topic: entries naming an existing one reuse it.
resource "azurerm_eventgrid_system_topic" "flow_logs" {
  for_each = { for key, entry in var.region_set : key => entry if entry.existing_system_topic == null }

  name                   = "evgt-flowcdr-${each.key}-${local.suffix}"
  resource_group_name    = azurerm_resource_group.collector[each.key].name
  location               = each.value.location
  source_arm_resource_id = one(data.azurerm_resources.flow_logs[each.key].resources).id
  topic_type             = "Microsoft.Storage.StorageAccounts"
}

resource "azurerm_eventgrid_system_topic_event_subscription" "flow_logs" {
  for_each = local.event_routes

  name                 = "flowcdr-${each.key}"
  system_topic         = try(var.region_set[each.value.entry].existing_system_topic.name, azurerm_eventgrid_system_topic.flow_logs[each.value.entry].name)
  resource_group_name  = try(var.region_set[each.value.entry].existing_system_topic.resource_group_name, azurerm_resource_group.collector[each.value.entry].name)
  included_event_types = ["Microsoft.Storage.BlobCreated"]

  subject_filter {
    subject_begins_with = "/blobServices/default/containers/${each.value.container}/"
  }

  webhook_endpoint {
    url = "https://${azurerm_function_app_flex_consumption.collector[each.value.entry].default_hostname}/runtime/webhooks/blobs?functionName=Host.Functions.${each.value.function}&code=${data.azurerm_function_app_host_keys.collector[each.value.entry].blobs_extension_key}"
  }

  retry_policy {
    max_delivery_attempts = 30
    event_time_to_live    = 1440
  }
}
