"""The one line an interpreter older than Python 3.8 prints instead of running the plugin.

Old interpreters parse this file: no f-strings, no annotations, type comments only. The hint
names the command that installs a newer Python on the distributions that need one (RHEL 8 and
SLES 15 ship 3.6 as python3 and newer ones as modules).
"""

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Sequence  # noqa: F401 - used in type comments

HINTS = (
    # (ID or ID_LIKE word, VERSION_ID major, hint)
    ("rhel", "8", "RHEL 8: dnf install python39"),
    ("rhel", "7", "RHEL 7: yum install rh-python38 from Software Collections"),
    ("suse", "15", "SLES 15: zypper install python311"),
    ("debian", "10", "Debian 10: upgrade to Debian 11 or newer"),
    ("ubuntu", "18.04", "Ubuntu 18.04: apt-get install python3.8"),
)


def install_hint(os_release="/etc/os-release"):
    # type: (str) -> str
    """What to install on this distribution, from os-release; a general hint elsewhere."""
    fields = {}
    try:
        with open(os_release) as stream:
            for line in stream.read(65536).splitlines():
                key, _, value = line.partition("=")
                fields[key.strip()] = value.strip().strip("\"'")
    except (OSError, UnicodeError):
        pass
    words = (fields.get("ID", "") + " " + fields.get("ID_LIKE", "")).lower().split()
    version = fields.get("VERSION_ID", "")
    for word, major, hint in HINTS:
        if word in words and (version == major or version.split(".")[0] == major):
            return hint
    return "install Python 3.8 or newer and run the plugin with it"


def message(version_info=None, os_release="/etc/os-release"):
    # type: (Optional[Sequence[object]], str) -> str
    """The plugin's UNKNOWN line for an interpreter that is too old."""
    info = sys.version_info if version_info is None else version_info
    this = ".".join(str(part) for part in info[:3])
    return ("OS4X UNKNOWN - check_os4x needs Python 3.8 or newer, this is " + this
            + " (" + install_hint(os_release) + ")")


def refuse(version_info=None, os_release="/etc/os-release"):
    # type: (Optional[Sequence[object]], str) -> None
    """Prints the line and exits with UNKNOWN (3), the plugin's exit code for it."""
    sys.stdout.write(message(version_info, os_release) + "\n")
    sys.stdout.flush()
    sys.exit(3)
