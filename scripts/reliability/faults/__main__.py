"""`python3 -m faults ARGS` (with scripts/reliability on the path): runs harness.main()."""
import sys

from .harness import main

if __name__ == "__main__":
    sys.exit(main())
