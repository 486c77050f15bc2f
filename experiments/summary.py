"""Prints a registered model's per-layer table: output shapes and parameters, and the total.

Usage:
  python -m experiments.summary --model=resnet18              # 3x224x224, 1000 classes
  python -m experiments.summary --model=resnet18 --input_shape=96,96,1 --num_classes=10
  python -m experiments.summary --model=googlenet --depth=2   # inside the Inception blocks

Any name of ``jaxnets.models.MODELS`` works; ``--input_shape`` is one example's shape (height,
width, channels for images) without the batch axis. ResNet-18's table ends with
``params: 11,689,512``, torchvision's count.
"""

import sys

from absl import app, flags

from experiments import cli

flags.DEFINE_string("model", "resnet18", "A registered model name (jaxnets.models.MODELS).")
flags.DEFINE_list("input_shape", ["224", "224", "3"], "One example's shape, e.g. 224,224,3.")
flags.DEFINE_integer("num_classes", 1000, "Output classes.")
flags.DEFINE_integer("depth", 1, "Nesting depth of the rows (0: every layer).")
flags.DEFINE_float("width_multiplier", 1.0, "Channel multiplier of the chapter-10 CNNs.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  from jaxnets import models
  from jaxnets.models.tables import layer_table

  FLAGS = flags.FLAGS
  try:
    shape = tuple(int(d) for d in FLAGS.input_shape)
  except ValueError:
    raise app.UsageError(
      f"--input_shape must be comma-separated ints, got {','.join(FLAGS.input_shape)}"
    ) from None
  kwargs = {"num_classes": FLAGS.num_classes}
  if FLAGS.width_multiplier != 1.0:
    kwargs["width_multiplier"] = FLAGS.width_multiplier
  try:
    model = models.get_model(FLAGS.model, **kwargs)
    print(
      layer_table(
        model, (1, *shape), depth=FLAGS.depth or None, width=160, color=sys.stdout.isatty()
      )
    )
  except ValueError as err:
    raise app.UsageError(str(err)) from None


if __name__ == "__main__":
  cli.run(main, doc=__doc__)
