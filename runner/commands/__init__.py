"""One module per verb; each exposes `add(subparsers)` and a `run(args) -> int`."""
