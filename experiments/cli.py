"""How every command of ``experiments/`` starts and fails: absl's ``app.run`` with clear edges.

* A user error (a bad flag or config value, an unknown name, a missing file, a diverged run)
  prints one line, ``error: <what is wrong and what is valid>``, on stderr and exits non-zero:
  2 for what the command line asked for (bad flags, config values, names, paths), 1 when the
  run itself failed (it diverged, the disk is full). ``--traceback`` shows the traceback too.
* ``--help`` prints the command's usage and flags on stdout and exits 0.
* The INFO line ``Unable to initialize backend 'tpu': ... libtpu.so ...`` that JAX logs on
  every machine without a TPU library is dropped; any other backend message (and every
  device error, which JAX raises) is kept.
"""

from __future__ import annotations

import logging as std_logging
import os
import sys
from typing import Any, Callable, NoReturn, Sequence

from absl import app, flags

USAGE_EXIT, FAILURE_EXIT = 2, 1
HELP_ARGS = ("-h", "-?", "--help", "--helpshort", "--helpfull")

flags.DEFINE_bool("traceback", False, "On an error, show the Python traceback, not one line.")

# Raised for what the user asked for: their message says what is wrong and what is valid.
_USAGE_ERRORS = (
  ValueError,
  TypeError,
  KeyError,
  AttributeError,
  FileNotFoundError,
  FileExistsError,
  NotADirectoryError,
  IsADirectoryError,
  app.UsageError,
  flags.Error,
)
# Raised when a well-specified run fails.
_RUN_ERRORS = (FloatingPointError, OSError)
USER_ERRORS = (*_USAGE_ERRORS, *_RUN_ERRORS)


class MissingTpuFilter(std_logging.Filter):
  """Drops JAX's note that no TPU library is installed (logged at INFO on every CPU/GPU run)."""

  def filter(self, record: std_logging.LogRecord) -> bool:
    message = record.getMessage()
    missing_library = "libtpu.so" in message and "cannot open shared object" in message
    return not (message.startswith("Unable to initialize backend 'tpu'") and missing_library)


def quiet_missing_tpu() -> None:
  """Filters the missing-libtpu INFO line from JAX's backend logger (idempotent).

  Example:
    >>> quiet_missing_tpu()
    >>> logger = std_logging.getLogger("jax._src.xla_bridge")
    >>> sum(isinstance(f, MissingTpuFilter) for f in logger.filters)
    1
  """
  logger = std_logging.getLogger("jax._src.xla_bridge")
  if not any(isinstance(f, MissingTpuFilter) for f in logger.filters):
    logger.addFilter(MissingTpuFilter())


def error_message(err: BaseException) -> str:
  """One line saying what went wrong, from an exception (unwrapping ml_collections' reprs).

  Example:
    >>> error_message(ValueError("config.batch_size must be a positive integer, got 0."))
    'config.batch_size must be a positive integer, got 0.'
    >>> error_message(AttributeError(KeyError("'batch_szie'\\nDid you mean \\"batch_size\\"?")))
    'unknown config field \\'batch_szie\\'. Did you mean "batch_size"?'
    >>> error_message(FileExistsError(17, "File exists", "README.md"))
    'File exists: README.md'
  """
  # ml_collections raises AttributeError(KeyError(message)); str() of either quotes it.
  while err.args and isinstance(err.args[0], BaseException):
    err = err.args[0]
  if isinstance(err, (KeyError, AttributeError)) and err.args and isinstance(err.args[0], str):
    text = err.args[0]
    first, _, rest = text.partition("\n")
    if rest and first.startswith("'") and first.endswith("'"):
      text = f"unknown config field {first}. {rest}"
  elif isinstance(err, OSError) and err.filename is not None and err.strerror:
    text = f"{err.strerror}: {err.filename}"
  else:
    text = str(err) or type(err).__name__
  return " ".join(line.strip() for line in text.splitlines() if line.strip())


def fail(message: str, code: int = USAGE_EXIT) -> NoReturn:
  """Prints ``error: message`` on stderr and exits with ``code``."""
  sys.stdout.flush()
  print(f"error: {message}", file=sys.stderr, flush=True)
  sys.exit(code)


def exit_code(err: BaseException) -> int:
  """2 for an error in what the command line asked for, 1 for a run that failed.

  Example:
    >>> exit_code(ValueError("bad")), exit_code(FloatingPointError("diverged"))
    (2, 1)
  """
  if isinstance(err, (FloatingPointError,)):
    return FAILURE_EXIT
  if isinstance(err, _USAGE_ERRORS):
    return USAGE_EXIT
  return FAILURE_EXIT


def _wants_traceback(argv: Sequence[str]) -> bool:
  try:
    return bool(flags.FLAGS.traceback)
  except flags.UnparsedFlagAccessError:
    given = list(argv) or sys.argv
    return any(a in ("--traceback", "-traceback", "--traceback=true") for a in given)


def report(err: BaseException, argv: Sequence[str] = ()) -> NoReturn:
  """Exits with ``error: <message>`` for ``err`` (re-raises it with ``--traceback``)."""
  if _wants_traceback(argv):
    raise err
  hint = "" if isinstance(err, (app.UsageError, flags.Error)) else " (--traceback for details)"
  fail(error_message(err) + hint, exit_code(err))


def help_text(doc: str | None) -> str:
  """A command's help: its docstring, then the flags that it (not absl or JAX) defines."""
  main = sys.modules["__main__"]
  modules = [sys.argv[0], getattr(main, "__spec__", None) and main.__spec__.name, __name__]
  modules.append("experiments.common")
  by_module = flags.FLAGS.flags_by_module_dict()
  parts = [(doc or "").strip(), "", "Flags:"]
  seen: set[str] = set()
  for module in modules:
    if module in by_module and module not in seen:
      seen.add(module)
      parts.append(flags.FLAGS.module_help(module).split("\n", 1)[-1])
  return "\n".join(parts)


def run(
  main: Callable[[Sequence[str]], Any],
  *,
  doc: str | None = None,
  extra_help: Callable[[], str] | None = None,
  check_args: Callable[[Sequence[str]], None] | None = None,
) -> None:
  """``app.run(main)`` with one-line errors, ``--traceback``, ``--help`` and no libtpu note.

  Args:
    main: absl's ``main(argv)``.
    doc: the usage text ``--help`` starts with (the command's module docstring).
    extra_help: more help text after the flags (e.g. the config fields and valid names).
    check_args: called with ``sys.argv`` before flags are parsed (and before JAX starts);
      raise :class:`absl.app.UsageError` (or ``ValueError``) to reject them.
  """
  quiet_missing_tpu()
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

  def parse(argv: list[str]) -> list[str]:
    if any(a in HELP_ARGS for a in argv[1:]):
      print(help_text(doc))
      if extra_help is not None:
        print(extra_help())
      sys.exit(0)
    try:
      if check_args is not None:
        check_args(argv)
      return flags.FLAGS(argv)
    except USER_ERRORS as err:
      report(err, argv)

  def guarded(argv: Sequence[str]) -> Any:
    try:
      return main(argv)
    except USER_ERRORS as err:
      report(err, argv)

  app.run(guarded, flags_parser=parse)
