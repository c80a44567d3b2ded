import sys

from turktui.cli import main

sys.exit(main())
