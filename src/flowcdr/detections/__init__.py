"""The detection catalogue: one rule per file, grouped by ATT&CK tactic."""
