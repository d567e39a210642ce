"""``python -m sheetcrm`` runs the CLI."""

import sys

from sheetcrm.cli import main

sys.exit(main())
