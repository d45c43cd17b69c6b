# Provider ranges the module was written against: azurerm 4.42 added rbac_authorization_enabled on
# Key Vault; azuread 3.x has application_id on passwords. terraform_data needs Terraform 1.4.
terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.42.0, < 5.0.0"
    }
    azuread = {
      source  = "hashicorp/azuread"
      version = ">= 3.0.0, < 4.0.0"
    }
  }
}

provider "azurerm" {
  subscription_id = var.subscription_id
  # The Function's storage account refuses shared keys, so the provider talks to it with Entra ID.
  storage_use_azuread = true

  features {
    key_vault {
      # The vaults hold copies of secrets kept elsewhere: destroy removes them for good.
      purge_soft_delete_on_destroy = true
    }
    resource_group {
      prevent_deletion_if_contains_resources = true
    }
  }
}

provider "azuread" {}
