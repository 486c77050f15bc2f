"""One run per workdir at a time: an exclusive ``fcntl.flock`` on ``workdir/.lock``.

The operating system releases the lock when the process ends however it ends (a crash,
``SIGKILL``, a lost machine), so a crashed run never leaves the workdir locked; the file
itself stays behind and only records who held it last.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from typing import Iterator

LOCK_NAME = ".lock"


class WorkdirInUse(RuntimeError):
  """Another live process is training in this workdir."""


@contextlib.contextmanager
def workdir_lock(workdir: str) -> Iterator[str]:
  """Holds ``workdir/.lock`` exclusively for the ``with`` block; refuses if another run has it.

  Args:
    workdir: the run's directory (created if missing).

  Yields:
    The lock file's path.

  Raises:
    WorkdirInUse: another process holds the lock (its pid and host are named).

  Example:
    >>> import tempfile
    >>> workdir = tempfile.mkdtemp()
    >>> with workdir_lock(workdir):
    ...   with workdir_lock(workdir):
    ...     pass
    Traceback (most recent call last):
    ...
    jaxnets.train.lock.WorkdirInUse: Another run is training in ...
  """
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, LOCK_NAME)
  fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown process"
      raise WorkdirInUse(
        f"Another run is training in {workdir} ({holder}); two runs in one workdir would "
        "overwrite each other's checkpoints. Wait for it to finish, stop it, or use another "
        "--workdir."
      ) from None
    os.ftruncate(fd, 0)
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, since {started} UTC\n".encode(), 0)
    yield path
  finally:
    os.close(fd)  # Closing the descriptor releases the lock.
