"""Refuse an unsupported Python in one line, before anything that would fail less clearly
is imported. Kept to syntax that old Pythons can still parse."""
import sys

MINIMUM = (3, 11)  # numpy 2.4 (requirements.txt) needs 3.11


def require(prog, version_info=None):
    """Exit with status 1 and one line if this Python is older than MINIMUM."""
    found = tuple(version_info or sys.version_info)[:3]
    if found[:2] < MINIMUM:
        sys.stderr.write("%s: error: Python %d.%d or newer is needed, this is Python %s (%s); "
                         "create the environment with a newer one, e.g. python3.11 -m venv .venv\n"
                         % (prog, MINIMUM[0], MINIMUM[1], ".".join(map(str, found)), sys.executable))
        sys.exit(1)
