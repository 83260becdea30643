"""`python -m localstack.demo`: seed the local stack with a few short demo videos (see the package docstring)."""
import sys

from localstack.demo import main

sys.exit(main())
