import sys

from eucalite.cli import main

sys.exit(main())
