"""``python -m airisk`` runs the command line."""

from airisk.cli import main

raise SystemExit(main())
