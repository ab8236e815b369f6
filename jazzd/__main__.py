import sys

from jazzd.cli import main

sys.exit(main())
