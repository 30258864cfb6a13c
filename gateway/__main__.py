"""``python -m gateway`` is the ``passerelle`` command."""

import sys

from gateway.cli import main

sys.exit(main())
