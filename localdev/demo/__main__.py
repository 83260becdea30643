"""`python -m localdev.demo`: seed the local stack with a few short demo videos (see the package docstring)."""
import sys

from localdev.demo import main

sys.exit(main())
