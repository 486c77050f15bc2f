"""LeNet-5 (classic: sigmoid, average pooling) on the embedded digits upsampled to 28x28.

Command:
  python -m experiments.train --config=experiments/configs/lenet.py --workdir=runs/lenet

Expected result: test accuracy 0.9889 after 20 epochs (seeds 0/1/2: 0.9889/0.9889/0.9806, all
>= 0.97), ~25-30 s wall for the whole command on the shared 2-core CPU. The modern variant
(ReLU, max pooling), ``--config.model.name=lenet_modern``: 0.9944.

Real data (prepared without TensorFlow, see docs/convolutions.md):
  python -m experiments.train --config=experiments/configs/lenet.py \\
      --config.dataset=fashion_mnist [--config.data_dir=DIR] --workdir=runs/lenet_fashion
(28x28 images need no resizing; for CIFAR-10 add ``--config.image_size=32``.)
"""

from experiments.configs import default


def get_config():
  config = default.get_config()
  config.dataset = "digits"
  config.image_size = 28  # Bilinear upsampling of the 8x8 digits to LeNet's 28x28 input.
  config.model = {"name": "lenet", "num_classes": 10}
  # Sigmoid LeNet barely moves under plain SGD at this budget; Adam trains it in a few epochs.
  config.optimizer = {"name": "adam", "learning_rate": 3e-3}
  config.batch_size = 32
  config.num_epochs = 20
  return config
