"""Network in Network (course chapter 10.3): NiN blocks and global average pooling.

Command (reduced CPU variant: NiN at a quarter width on the embedded digits upsampled to
96x96):
  python -m experiments.train --config=experiments/configs/nin.py --workdir=runs/nin

Expected result: test accuracy 0.8111 after 15 epochs (seed 0), ~55 s on a 2-core CPU; NiN
learns slowest (its classifier is the last block's mean, behind dropout 0.5): 30 epochs reach
0.8306 (``--config.num_epochs=30``, ~2.5 min), while Adam at 3e-3 stalls it at chance.

The course's run (Fashion-MNIST resized to 224x224, SGD 0.1, batch 128, 10 epochs):
  python -m experiments.train --config=experiments/configs/nin.py:course --workdir=runs/nin224
"""

import ml_collections

from experiments.configs import modern_cnn


def get_config(variant: str = "cpu") -> ml_collections.ConfigDict:
  return modern_cnn(
    variant,
    model={"name": "nin", "num_classes": 10},
    cpu={"image_size": 96, "model": {"width_multiplier": 0.25}},
    course={"image_size": 224},
  )
