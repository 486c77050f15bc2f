"""Fine-tuning (course chapter 11): a pretrained ResNet-18 with a new head, on a new dataset.

Variant ``cpu`` (the default): the reduced ResNet-18 of ``resnet.py`` (1/8 width, small-input
stem), pretrained on the embedded ``cluttered_digits``, fine-tuned on the clean embedded
``digits`` upsampled to 32×32. The labels are the same digits, so ``shared_classes`` starts the
new head from the pretrained head's rows; the stem and the first stage are frozen (no
updates, BatchNorm statistics kept); the rest trains at Adam 1e-3, the head at 10×:
  python -m experiments.train --config=experiments/configs/resnet.py --workdir=runs/resnet
  python -m experiments.train --config=experiments/configs/finetune.py --workdir=runs/finetune
(``config.finetune.pretrained`` defaults to ``runs/resnet``; any jaxnets workdir will do.)
Expected result (measured 2026-12-01, loaded 2-core CPU), from a source run shortened to 1 epoch
(``--config.num_epochs=1``, test accuracy 0.4365): test accuracy 0.9694 after the 3 epochs,
~12 min for both commands (11 min 39 s with seven jobs sharing the 2 cores).

Variant ``colab``: torchvision's ImageNet ResNet-18 weights (a ``.pth`` file, converted by
``jaxnets.interop``) fine-tuned on CIFAR-10 at 96×96, the head from scratch; see BUILD.md:
  python -m experiments.train --config=experiments/configs/finetune.py:colab --workdir=runs/ft
(``config.finetune.pretrained`` defaults to ``resnet18-f37072fd.pth`` in the working directory.)
"""

import ml_collections

from jaxnets.train import default_config

VARIANTS = ("cpu", "colab")


def get_config(variant: str = "cpu") -> ml_collections.ConfigDict:
  if variant not in VARIANTS:
    raise ValueError(f"Unknown config variant {variant!r}; valid variants: {list(VARIANTS)}.")
  config = default_config()
  config.optimizer = {"name": "adam", "learning_rate": 1e-3}
  config.finetune.head_lr_multiplier = 10.0
  if variant == "cpu":
    config.dataset, config.image_size = "digits", 32
    config.model = {
      "name": "resnet18",
      "num_classes": 10,
      "small_input": True,
      "width_multiplier": 0.125,
      "dtype": "float32",
    }
    config.batch_size, config.num_epochs = 64, 3
    config.finetune.pretrained = "runs/resnet"
    config.finetune.freeze = ("conv1", "bn1", "layer1")
    config.finetune.shared_classes = tuple((c, c) for c in range(10))
  else:
    config.dataset, config.image_size, config.standardize = "cifar10", 96, True
    config.model = {"name": "resnet18", "num_classes": 10, "dtype": "float32"}
    config.batch_size, config.num_epochs, config.eval_batch_size = 128, 3, 500
    config.optimizer = {"name": "momentum", "learning_rate": 0.01, "momentum": 0.9}
    config.finetune.pretrained = "resnet18-f37072fd.pth"
    config.finetune.freeze = ("conv1", "bn1")
  return config
