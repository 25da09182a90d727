import os
import sys

from local_idp.cli import main

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "local_idp.settings")
sys.exit(main())
