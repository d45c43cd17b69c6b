"""Deployment: the Terraform download that puts a collector Function next to each flow-log account.

The last stage of onboarding (design.md section 8): the gateway turns a flow-log configuration
into ``flowcdr_azure_cdr_terraform.zip`` (``module.py``), which carries the Function package
built from ``flowcdr.collect`` (``package.py``) and the templates in ``terraform/``.
"""
