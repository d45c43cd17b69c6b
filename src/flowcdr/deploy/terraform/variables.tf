variable "subscription_id" {
  description = "The Azure subscription whose flow logs are collected. It has no default on purpose: terraform apply asks for it, so a module is never applied to the wrong subscription by accident."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.subscription_id))
    error_message = "The subscription_id must be a GUID such as 0b1f6471-1bf0-4dda-aec3-cb9272f09590."
  }
}

variable "subscription_token" {
  description = "A subscription token from POST /qas/subscription-token. The Functions send flows with it and the registration uses it; it is kept in Key Vault. terraform.tfvars.json ships it empty: fill it in."
  type        = string
  sensitive   = true
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}\\.[A-Za-z0-9_-]{1,1024}\\.[A-Za-z0-9_-]{20,100}$", var.subscription_token))
    error_message = "The subscription_token must be the token the gateway issued (three dot-separated parts); terraform.tfvars.json ships it empty."
  }
}

variable "apigw_url" {
  description = "The flowcdr gateway's public URL, as the Functions and this machine reach it."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^https://[^/?#]+(/[^?#]*)?$", var.apigw_url))
    error_message = "The apigw_url must be an https:// URL: the Functions send a bearer token to it."
  }
}

variable "flowlog_config_id" {
  description = "The flow-log configuration this module was downloaded for; the registration names it."
  type        = string
  nullable    = false
}

variable "deployment_name" {
  description = "The configuration's deployment name; it names the Azure AD application and the resource groups."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^azure-[a-z0-9-]{1,58}$", var.deployment_name))
    error_message = "The deployment_name must be azure- followed by lower-case letters, digits and hyphens."
  }
}

variable "region_set" {
  description = "One entry (location1..N) per flow-log storage account of the configuration: where it is, its name, and its connection string. A storage account allows one Event Grid system topic: name an existing one in existing_system_topic."
  type = map(object({
    location                            = string
    flow_logs_storage_account           = string
    flow_logs_storage_connection_string = string
    existing_system_topic = optional(object({
      name                = string
      resource_group_name = string
    }))
  }))
  nullable = false

  validation {
    condition     = length(var.region_set) > 0 && alltrue([for key in keys(var.region_set) : can(regex("^location[0-9]{1,2}$", key))])
    error_message = "The region_set needs at least one entry, keyed location1, location2 and so on."
  }
}

variable "secret_lifetime_hours" {
  description = "How long the Key Vault secrets and the application's client secret stay valid; apply again with a fresh token before then."
  type        = number
  default     = 8760
  nullable    = false

  validation {
    condition     = var.secret_lifetime_hours >= 24 && var.secret_lifetime_hours <= 17520
    error_message = "The secret_lifetime_hours must be between 24 (a day) and 17520 (two years)."
  }
}

variable "client_secret_rotation" {
  description = "Any new value (a date, say) replaces the application's client secret on the next apply, and the gateway is sent the new one. The secret also ends after secret_lifetime_hours: rotate it before then."
  type        = string
  default     = ""
  nullable    = false
}
