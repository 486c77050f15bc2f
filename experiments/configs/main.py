"""The main job: the best model on embedded data, a modern LeNet-5 on digits upsampled to 28x28.

Command (the launcher's default config):
  python -m experiments.train

Expected result: test accuracy ~0.99 after 20 epochs (seeds 0/1/2: 0.9944/0.9944/0.9861, mean
0.9916; the MLP of mlp_digits.py: 0.9889/0.9889/0.9917, mean 0.9898), 25-50 s for the whole
command on the shared 2-core CPU, depending on its load.
"""

from experiments.configs import lenet


def get_config():
  config = lenet.get_config()
  config.model = {"name": "lenet_modern", "num_classes": 10}  # ReLU + max pooling.
  return config
