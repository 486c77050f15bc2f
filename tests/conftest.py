"""Shared pytest setup: make the repository importable and keep JAX on the CPU."""

import atexit
import os
import shutil
import sys
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["JAXNETS_OFFLINE"] = "1"  # Tests never touch the network, not even to probe it.
# One XLA compilation cache for the session (and the launcher subprocesses it starts): many
# tests compile the same small programs. Fresh per session, so every run still compiles once.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="jaxnets-xla-")
  atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
# Generated datasets (MNIST-1D) are cached on disk; tests keep theirs out of the user's home.
if "JAXNETS_CACHE_DIR" not in os.environ:
  os.environ["JAXNETS_CACHE_DIR"] = tempfile.mkdtemp(prefix="jaxnets-data-")
  atexit.register(shutil.rmtree, os.environ["JAXNETS_CACHE_DIR"], ignore_errors=True)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
