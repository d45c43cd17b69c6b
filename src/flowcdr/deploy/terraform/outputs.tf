output "client_id" {
  description = "The Azure AD application (client) id registered with the gateway."
  value       = azuread_application.collector.client_id
}

output "tenant_id" {
  description = "The Azure AD tenant of the application."
  value       = data.azuread_client_config.current.tenant_id
}

output "function_app_names" {
  description = "The collector Function app of each region_set entry."
  value       = { for key, app in azurerm_function_app_flex_consumption.collector : key => app.name }
}

output "registration_status" {
  description = "Whether the gateway accepted the registration (a failed POST fails the apply)."
  value       = "registered with ${local.gateway_url} as ${azuread_application.collector.client_id} (${terraform_data.registration.id}); check GET ${local.gateway_url}/cdr/v1/azure/connectors"
}

output "client_secret" {
  description = "The application's client secret, for tools that act as it; terraform output -raw client_secret."
  value       = azuread_application_password.collector.value
  sensitive   = true
}
