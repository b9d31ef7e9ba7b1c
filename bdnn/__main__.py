import sys

from bdnn.cli import main

sys.exit(main())
