"""How the command line ends: one line for every expected failure, a traceback only for a bug.

Expected failures are raregal's own errors (bad input: the message names the file, the column and
the count) and what the machine refuses: permissions, a full disk, a read-only file system, an
existing file where a folder is wanted. Each ends in one line on stderr and exit code 2. Anything
else is a bug in raregal: its traceback is shown, followed by a line saying how to report it.
"""

from __future__ import annotations

import errno
import re

from raregal import __version__

EXIT_EXPECTED = 2
EXIT_BUG = 1

_EXPECTED_ERRNOS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EEXIST: "an existing file is in the way",
    errno.ENOTDIR: "not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.ENOENT: "no such file or folder",
    errno.ENAMETOOLONG: "file name too long",
    errno.EMFILE: "too many open files",
    errno.EIO: "input/output error",
}
_FULL = (errno.ENOSPC, errno.EDQUOT)
_ERRNO_IN_TEXT = re.compile(r"\[errno (\d+)\]", re.IGNORECASE)


def _errno_of(exc: OSError) -> int | None:
    """The errno of ``exc``; pyarrow's I/O errors carry it only in their text."""
    if exc.errno is not None:
        return exc.errno
    text = str(exc)
    if "No space left on device" in text:
        return errno.ENOSPC
    found = _ERRNO_IN_TEXT.search(text)
    return int(found.group(1)) if found else None


def os_failure_line(exc: BaseException) -> str | None:
    """One line for an expected failure of the machine, or None when ``exc`` is not one."""
    if not isinstance(exc, OSError):
        return None
    code = _errno_of(exc)
    if code not in _EXPECTED_ERRNOS:
        return None
    where = " ".join(f"{name}" for name in (exc.filename, exc.filename2) if name)
    line = f"{where}: {_EXPECTED_ERRNOS[code]}" if where else _EXPECTED_ERRNOS[code]
    if code in _FULL:
        line += (
            " while writing: free some space (or write elsewhere) and run the command again; "
            "a run folder keeps its previous result, since a run commits only complete tables"
        )
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        line += "; choose a folder you can write to (--out) or change its permissions"
    elif code == errno.EEXIST:
        line += "; remove it or choose another path"
    return line


def bug_line() -> str:
    """The line printed after the traceback of an unexpected error."""
    return (
        f"this is a bug in raregal {__version__}, not a problem with your input: please report "
        "it to the raregal maintainers with the command you ran and the traceback above"
    )
