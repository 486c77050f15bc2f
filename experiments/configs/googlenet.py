"""GoogLeNet (course chapter 10.4): Inception blocks of four parallel paths.

Command (reduced CPU variant: torchvision's GoogLeNet, with BatchNorm, at a quarter width
on the embedded digits upsampled to 64x64):
  python -m experiments.train --config=experiments/configs/googlenet.py --workdir=runs/goog

Expected result: test accuracy 0.9750 after 15 epochs (seed 0), ~3 min on a 2-core CPU, most
of it compiling the 57 convolutions.

The course's run (the course's GoogLeNet: no BatchNorm, 5x5 paths; Fashion-MNIST resized to
96x96, SGD 0.1, batch 128, 10 epochs):
  python -m experiments.train --config=experiments/configs/googlenet.py:course --workdir=runs/g
"""

import ml_collections

from experiments.configs import modern_cnn


def get_config(variant: str = "cpu") -> ml_collections.ConfigDict:
  return modern_cnn(
    variant,
    model={"name": "googlenet", "num_classes": 10},
    cpu={"image_size": 64, "model": {"width_multiplier": 0.25}},
    course={"image_size": 96, "model": {"name": "googlenet_course"}},
  )
