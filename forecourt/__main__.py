import sys

from forecourt.cli import main

sys.exit(main())
