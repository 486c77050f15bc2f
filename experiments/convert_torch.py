"""Converts a torchvision weight file into a jaxnets checkpoint.

Usage:
  python -m experiments.convert_torch --input=resnet18.safetensors --model=resnet18 \\
      --output=checkpoints/resnet18
  python -m experiments.convert_torch --input=resnet18-f37072fd.pth --model=resnet18 \\
      --output=checkpoints/resnet18          # .pth/.pt need torch: pip install "jaxnets[torch]"

The checkpoint holds ``{"params", "batch_stats"}`` of the jaxnets model, written with
``jaxnets.params.save_params`` (Orbax); ``jaxnets.params.load_params(output)`` restores it, and
``model.apply(variables, images)`` with NHWC images then computes what the torchvision network
computes on the NCHW ones. The classes and input channels are read from the file.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from absl import app, flags

from jaxnets import interop
from jaxnets import params as params_lib


def convert(input_path: str, model: str, output: str, *, force: bool = False) -> dict[str, Any]:
  """Reads ``input_path``, converts it for ``model`` and saves it at ``output``.

  Args:
    input_path: a ``.safetensors`` (no torch needed) or ``.pth``/``.pt``/``.bin`` file.
    model: a name in ``jaxnets.interop.TORCHVISION_MODELS``.
    output: the checkpoint directory to create.
    force: replace an existing checkpoint at ``output``.

  Returns:
    ``{"output": absolute path, "parameters": count, "num_classes": classes}``.
  """
  if os.path.exists(output) and not force:  # Before reading a large file for nothing.
    raise FileExistsError(f"{output} already exists; pass --force to replace it.")
  variables = interop.load_variables(input_path, model)
  path = params_lib.save_params(output, variables, force=force)
  head = variables["params"]["fc" if "fc" in variables["params"] else "classifier_6"]
  return {
    "output": path,
    "parameters": params_lib.count_params(variables["params"]),
    "num_classes": int(head["kernel"].shape[-1]),
  }


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  try:
    result = convert(
      flags.FLAGS.input, flags.FLAGS.model, flags.FLAGS.output, force=flags.FLAGS.force
    )
  except (ValueError, TypeError, OSError, ImportError) as err:  # One line on stderr, exit 1.
    sys.exit(f"convert_torch: {err}")
  print(
    f"Converted {flags.FLAGS.input} to {flags.FLAGS.model} ({result['parameters']:,} parameters, "
    f"{result['num_classes']} classes) in {result['output']}; restore it with "
    f"jaxnets.params.load_params({result['output']!r})."
  )


def _define_flags() -> None:
  """The command's flags (defined only when run, so importing the module defines none)."""
  flags.DEFINE_string("input", None, "A torchvision state_dict: .safetensors, or .pth/.pt/.bin.")
  flags.DEFINE_enum("model", "resnet18", list(interop.TORCHVISION_MODELS), "The jaxnets model.")
  flags.DEFINE_string("output", None, "The checkpoint directory to create.")
  flags.DEFINE_bool("force", False, "Replace an existing checkpoint at --output.")
  flags.mark_flags_as_required(["input", "output"])


if __name__ == "__main__":
  _define_flags()
  app.run(main)
