"""AlexNet (course chapter 10.1), the course's layout: ReLU, dropout, max pooling.

Command (reduced CPU variant: the course's AlexNet at 1/8 width on the embedded digits
upsampled to 128x128):
  python -m experiments.train --config=experiments/configs/alexnet.py --workdir=runs/alexnet

Expected result: test accuracy 0.9861 after 15 epochs (seed 0), ~45 s on a 2-core CPU.

The course's run (Fashion-MNIST resized to 224x224, SGD 0.01, batch 128, 10 epochs):
  python -m experiments.train --config=experiments/configs/alexnet.py:course --workdir=runs/an
torchvision's layout is ``--config.model.name=alexnet``.
"""

import ml_collections

from experiments.configs import modern_cnn


def get_config(variant: str = "cpu") -> ml_collections.ConfigDict:
  return modern_cnn(
    variant,
    model={"name": "alexnet_course", "num_classes": 10},
    cpu={"image_size": 128, "model": {"width_multiplier": 0.125}},
    course={"image_size": 224, "learning_rate": 0.01},
  )
