"""VGG-11 (course chapter 10.2): five VGG blocks of 3x3 convolutions and max pooling.

Command (reduced CPU variant: VGG-11 at 1/8 width on the embedded digits upsampled to 32x32,
no adaptive pooling):
  python -m experiments.train --config=experiments/configs/vgg.py --workdir=runs/vgg

Expected result: test accuracy 0.9917 after 15 epochs (seed 0), ~36 s on a 2-core CPU.

The course's run (VGG-11 at a quarter of the width, as the course trains it, on Fashion-MNIST
resized to 224x224, SGD 0.05, batch 128, 10 epochs):
  python -m experiments.train --config=experiments/configs/vgg.py:course --workdir=runs/vgg11
VGG-16 is ``--config.model.name=vgg16``; with BatchNorm ``vgg11_bn``/``vgg16_bn``.
"""

import ml_collections

from experiments.configs import modern_cnn


def get_config(variant: str = "cpu") -> ml_collections.ConfigDict:
  return modern_cnn(
    variant,
    model={"name": "vgg11", "num_classes": 10},
    cpu={"image_size": 32, "model": {"width_multiplier": 0.125, "pool_size": None}},
    course={"image_size": 224, "model": {"width_multiplier": 0.25}, "learning_rate": 0.05},
  )
