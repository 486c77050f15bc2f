"""Shared pytest setup: make the repository importable and keep JAX on the CPU."""

import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["JAXNETS_OFFLINE"] = "1"  # Tests never touch the network, not even to probe it.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
