"""``python -m pydfuse`` runs the ``dfuse`` command line (layer: cli entry point)."""

from pydfuse.cli.main import main

raise SystemExit(main())
