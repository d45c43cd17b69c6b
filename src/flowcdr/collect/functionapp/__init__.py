"""The Azure Function app: ``function_app.py``, ``host.json`` and ``requirements.txt``, zipped
with the flowcdr package by the deployment module."""
