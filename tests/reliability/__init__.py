"""Reliability and security proofs: hostile input, faults, load (docs/reliability.md)."""
