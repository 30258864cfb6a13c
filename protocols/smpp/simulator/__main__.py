"""`python -m protocols.smpp.simulator ARGS` is `passerelle smsc-sim ARGS`."""

import sys

from protocols.smpp.simulator.cli import main

sys.exit(main(sys.argv[1:]))
