"""`python -m runner` is the `mso` command."""

from runner.cli import main

raise SystemExit(main())
