"""Declarations: load YAML with line numbers, validate against schemas/, resolve references, freeze."""
