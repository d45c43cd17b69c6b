"""Simulator: realistic, labelled Azure flow-log traffic laid out like the two Azure containers."""
