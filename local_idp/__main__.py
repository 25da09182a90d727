import os
import sys

# Always our own settings, even when started from the portal's environment.
os.environ["DJANGO_SETTINGS_MODULE"] = "local_idp.settings"

from local_idp.cli import main

sys.exit(main())
