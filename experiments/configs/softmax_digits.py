"""Softmax regression on the embedded 8x8 `digits` (1437 train / 360 test).

Command:
  python -m experiments.train --config=experiments/configs/softmax_digits.py \\
      --workdir=runs/softmax_digits

Expected result: test accuracy 0.9778 after 30 epochs, in ~13 s on a 2-core CPU.
"""

from experiments.configs import default


def get_config():
  config = default.get_config()  # Digits, batch 32, 30 epochs.
  config.model = {"name": "softmax", "num_classes": 10}
  config.optimizer = {"name": "sgd", "learning_rate": 0.5}
  return config
