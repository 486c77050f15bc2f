"""ResNet-18 (course chapter 10.5), BatchNorm, residual blocks.

Command (reduced CPU variant: ResNet-18 at 1/8 width (8-16-32-64 channels) with the
small-input stem (3x3, no max pooling) on the embedded ``cluttered_digits``, 32x32):
  python -m experiments.train --config=experiments/configs/resnet.py --workdir=runs/resnet

Expected result: test accuracy 0.957 after 15 epochs (seeds 0/1/2: 0.9545/0.9600/0.9565), ~5 min
per seed on a 2-core CPU. It beats the modern LeNet-5 on the same data by 12.5 points (mean of 3
seeds; LeNet 0.8275/0.8450/0.8240, mean 0.8322, ~60 s per seed):
  python -m experiments.train --config=experiments/configs/main.py \\
      --config.dataset=cluttered_digits --config.image_size=32 --workdir=runs/lenet_cluttered

The course's run (ResNet-18, Fashion-MNIST resized to 96x96, SGD 0.05, batch 256, 10 epochs;
the data prepared without TensorFlow, see docs/convolutions.md):
  python -m experiments.train --config=experiments/configs/resnet.py:course --workdir=runs/r18
Mixed precision: add ``--config.model.dtype=bfloat16`` (float32 parameters and statistics).
"""

import ml_collections

from experiments.configs import modern_cnn


def get_config(variant: str = "cpu") -> ml_collections.ConfigDict:
  return modern_cnn(
    variant,
    model={"name": "resnet18", "num_classes": 10},
    cpu={
      "dataset": "cluttered_digits",
      "model": {"small_input": True, "width_multiplier": 0.125},
      "learning_rate": 3e-3,
      "lr_schedule": "cosine",
      "batch_size": 128,
    },
    course={"image_size": 96, "batch_size": 256, "learning_rate": 0.05},
  )
