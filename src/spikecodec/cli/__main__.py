"""``python -m spikecodec.cli``: the ``spikecodec`` command."""

import sys

from . import main

sys.exit(main())
