"""The configuration schema of a training run: its defaults and its validation, in one place.

``default_config()`` is the documented default; experiments' configs
(``experiments/configs/*.py``) start from it and override fields, and the launcher's flags
override those (``--config.optimizer.learning_rate=0.05``). ``validate_config`` checks all of
it once, at the edge: below it, functions take the values they need, not the config.

Example:
  >>> config = default_config()
  >>> config.batch_size = 64
  >>> validate_config(config)
  >>> config.batch_size = 0
  >>> validate_config(config)
  Traceback (most recent call last):
  ...
  ValueError: config.batch_size must be a positive integer, got 0.
"""

from __future__ import annotations

import difflib
import math

import jax
import ml_collections
from ml_collections import config_dict

from jaxnets import data, losses, optim
from jaxnets.data import augment
from jaxnets.train import build, guards

LR_SCHEDULES = ("constant", "cosine")
WEIGHT_DECAY_PARAMS = ("all", "kernels")


def default_config() -> ml_collections.ConfigDict:
  """The default run: an MLP on the embedded digits, every field the engine reads.

  Example:
    >>> default_config().model.name
    'mlp'
  """
  config = ml_collections.ConfigDict()

  # Data.
  config.dataset = "digits"  # A jaxnets.data.load name: embedded, or any TFDS dataset.
  # Optional fields are typed placeholders so that --config.<field>=... can set them.
  config.data_dir = config_dict.placeholder(str)  # TFDS data_dir (TFDS datasets only).
  config.image_size = config_dict.placeholder(int)  # Resize images to this square size.
  config.standardize = False  # Subtract the training mean, divide by its std (per feature).
  config.streaming = False  # Stream the training split from tfds.data_source through grain.
  config.worker_count = 0  # grain worker processes for streaming (0: read in this process).
  # "classification" or "regression"; None: what the dataset declares (jaxnets.data.task).
  config.task = config_dict.placeholder(str)

  # Model: `name` picks jaxnets.models.get_model; the other fields are its keyword arguments.
  config.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (256,), "num_classes": 10})

  # Optimizer: `name` picks jaxnets.optim.get_optimizer; the others are its keyword arguments
  # (hyperparameters, injected into the optimizer state).
  config.optimizer = ml_collections.ConfigDict(
    {"name": "momentum", "learning_rate": 0.1, "momentum": 0.9}
  )
  config.optimizer_impl = "optax"  # "optax" (built-ins) or "scratch" (jaxnets.optim.transforms).
  config.lr_schedule = "constant"  # "constant", or "cosine": η · cosine decay to 0 over the run.
  config.warmup_epochs = 0  # η rises linearly from 0 over these first epochs, then the schedule.
  config.weight_decay = 0.0  # λ of optax.add_decayed_weights (λ·w added to the gradient).
  config.weight_decay_params = "all"  # Decay "all" parameters, or only "kernels" (ndim >= 2).

  # Fine-tuning (jaxnets.finetune): start from pretrained weights, with a fresh output layer.
  config.finetune = ml_collections.ConfigDict(
    {
      # A jaxnets run's workdir (or its checkpoints/<step>), a save_params directory, or a
      # torchvision-layout .safetensors/.pth file; None trains from scratch (the other
      # finetune fields then stay unset).
      "pretrained": config_dict.placeholder(str),
      # Top-level names of the output layer, initialized from scratch; None: the modules
      # sized by num_classes (fc, classifier_6, Dense_<last>, ...).
      "head": config_dict.placeholder(tuple),
      "head_lr_multiplier": 10.0,  # The head trains at learning_rate × this.
      # Top-level names (or stage prefixes: "layer1") with zero updates and frozen BatchNorm.
      "freeze": (),
      # ((target class, source class), ...): head entries copied from the pretrained head.
      "shared_classes": config_dict.placeholder(tuple),
    }
  )

  # Objective: "cross_entropy" or "squared"; None: the task's (cross_entropy / squared).
  config.loss = config_dict.placeholder(str)

  # Training-batch augmentation on the device (jaxnets.data.augment; evaluation never
  # augments): `policy` names a jaxnets.data.augment.POLICIES entry ("none", "flip", "crop",
  # "flip_crop", "resized_crop", "flip_resized_crop", "color", "flip_crop_color"); the other
  # fields are its strengths (jaxnets.data.augment.get_policy).
  config.augment = ml_collections.ConfigDict(
    {
      "policy": "none",
      "crop_padding": 4,  # crop: pixels of zero padding (the image moves up to this much).
      "scale": (0.08, 1.0),  # resized_crop: window area range, as a fraction of the image.
      "ratio": (3 / 4, 4 / 3),  # resized_crop: window aspect-ratio (width / height) range.
      "brightness": 0.2,  # color: largest brightness change (added).
      "contrast": 0.2,  # color: contrast factor in 1 ± contrast.
      "saturation": 0.0,  # color: saturation factor in 1 ± saturation (RGB only).
      "hue": 0.0,  # color: largest hue rotation, in turns (RGB only).
    }
  )

  # Training loop.
  config.batch_size = 32  # The global batch (split over all devices).
  config.num_epochs = 30  # Passes over the training set (a resumed run trains up to this).
  config.seed = 0  # Initialization, dropout and the data order (jaxnets.data.epoch_order).
  config.log_every_steps = 50  # Metrics leave the device only this often.
  # Run each epoch as one lax.scan; None picks per model (no scan for convolutions on CPU).
  config.scan_epochs = config_dict.placeholder(bool)
  config.eval_batch_size = 1000  # Examples per evaluation step (a padded last batch is exact).
  config.eval_train = False  # Also evaluate the whole training split after every evaluation.
  config.eval_every_epochs = 1  # Evaluate after every k-th epoch (and after the last).
  # Stop when a step's training loss exceeds this multiple of the first epoch's mean training
  # loss (a divergence that stays finite); None: off. See jaxnets.train.guards.
  config.divergence_factor = config_dict.placeholder(float)

  # Checkpoints and output.
  config.checkpoint_every_epochs = 1  # 0 disables checkpointing.
  config.max_to_keep = 3  # Newest checkpoints kept in workdir/checkpoints.
  config.eval_only = False  # Restore the latest checkpoint, evaluate it, and stop.
  config.progress_bar = True  # A progress bar with steps/s and ETA on stderr.
  return config


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks every field of a run's config; raises ``ValueError`` naming the field and what is valid.

  It checks the fields' types and ranges, the names of the model, optimizer, loss, task and
  schedule (by building the model and the optimizer), the combinations a mode would ignore
  (e.g. ``streaming`` with ``standardize``), and that the batch splits over the devices.
  What needs the data itself (the batch against the dataset size, the model's outputs against
  the labels) is checked when the data is loaded.

  Raises:
    ValueError: the first problem found, naming the field.
  """
  _check_known_fields(config, default_config())
  positive = ("batch_size", "num_epochs", "log_every_steps", "eval_batch_size", "max_to_keep")
  for field in positive + ("eval_every_epochs",):
    _check_int(config, field, minimum=1)
  for field in ("seed", "checkpoint_every_epochs", "worker_count", "warmup_epochs"):
    _check_int(config, field, minimum=0)
  if config.warmup_epochs and config.warmup_epochs >= config.num_epochs:
    raise ValueError(
      f"config.warmup_epochs ({config.warmup_epochs}) must be below config.num_epochs "
      f"({config.num_epochs}): the run would end before η reaches its value."
    )
  for field in ("standardize", "streaming", "eval_only", "progress_bar", "eval_train"):
    if not isinstance(config[field], bool):
      raise ValueError(f"config.{field} must be True or False, got {config[field]!r}.")
  if config.scan_epochs is not None and not isinstance(config.scan_epochs, bool):
    raise ValueError(f"config.scan_epochs must be True, False or None, got {config.scan_epochs!r}.")
  if config.image_size is not None:
    _check_int(config, "image_size", minimum=1)
  if not isinstance(config.dataset, str) or not config.dataset:
    raise ValueError(
      f"config.dataset must be a dataset name; embedded datasets: {list(data.DATASETS)}."
    )
  _check_choice(config, "task", data.TASKS, optional=True)
  _check_choice(config, "lr_schedule", LR_SCHEDULES)
  _check_choice(config, "weight_decay_params", WEIGHT_DECAY_PARAMS)
  _check_choice(config, "optimizer_impl", tuple(optim.IMPLS))
  wd = config.weight_decay
  if (
    isinstance(wd, bool) or not isinstance(wd, (int, float)) or not (math.isfinite(wd) and wd >= 0)
  ):
    raise ValueError(f"config.weight_decay must be a finite number >= 0, got {wd!r}.")
  _check_loss(config)
  _check_modes(config)
  _check_augment(config)
  guards.check_factor(config.divergence_factor)
  _check_finetune(config)
  for part in ("model", "optimizer"):
    if not isinstance(config[part], ml_collections.ConfigDict) or "name" not in config[part]:
      raise ValueError(f"config.{part} needs a `name` field, got {config[part]!r}.")
  lr = config.optimizer.get("learning_rate")
  if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
    raise ValueError(f"config.optimizer.learning_rate must be a positive number, got {lr!r}.")
  # Building them checks the names and keyword arguments (nothing is initialized).
  build.model(config)
  build.optimizer(config, steps_per_epoch=1)
  devices = jax.device_count()
  if config.batch_size % devices:
    raise ValueError(
      f"config.batch_size={config.batch_size} must be divisible by the number of devices "
      f"({devices}); use a multiple of {devices}."
    )


def _check_known_fields(config: ml_collections.ConfigDict, default: ml_collections.ConfigDict):
  known = set(default.keys())
  for field in config.keys():
    if field not in known:
      close = difflib.get_close_matches(field, sorted(known), n=1)
      hint = f" Did you mean config.{close[0]}?" if close else ""
      raise ValueError(f"config.{field} is not a field of the training config.{hint}")


def _check_int(config: ml_collections.ConfigDict, field: str, minimum: int) -> None:
  value = config[field]
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    raise ValueError(f"config.{field} must be {kind}, got {value!r}.")


def _check_choice(config, field: str, valid: tuple[str, ...], optional: bool = False) -> None:
  value = config[field]
  if (value is None and optional) or value in valid:
    return
  raise ValueError(f"config.{field} must be one of {list(valid)}, got {value!r}.")


def _check_loss(config: ml_collections.ConfigDict) -> None:
  name = build.loss_name(config)
  losses.get_loss(name)  # Unknown names raise, listing the valid ones.
  task = build.task(config)
  if losses.LOSS_TASKS[name] != task:
    raise ValueError(
      f"config.loss={name!r} is a {losses.LOSS_TASKS[name]} loss, but the task is {task!r} "
      f"(dataset {config.dataset!r}); use config.loss={losses.DEFAULT_LOSS[task]!r}."
    )


def _check_augment(config: ml_collections.ConfigDict) -> None:
  """``config.augment``: known fields, a known policy, strengths in range."""
  fields = config.augment
  known = tuple(default_config().augment.keys())
  if not isinstance(fields, ml_collections.ConfigDict) or "policy" not in fields:
    raise ValueError(f"config.augment needs the fields {list(known)}, got {fields!r}.")
  unknown = [k for k in fields.keys() if k not in known]
  if unknown:
    raise ValueError(
      f"config.augment.{unknown[0]} is not a field of config.augment: {list(known)}."
    )
  try:
    build.augmentation(config)
  except ValueError as err:  # The message starts with the argument's name.
    raise ValueError(f"config.augment.{err}") from None
  colour = "color" in augment.POLICIES[fields.policy]
  if colour and config.standardize:
    raise ValueError(
      f"config.augment.policy={fields.policy!r} changes colours of images in [0, 1] (and clips "
      "to it), but config.standardize=True moves the inputs out of [0, 1]; use one of them."
    )


FINETUNE_FIELDS = ("pretrained", "head", "head_lr_multiplier", "freeze", "shared_classes")


def _names(value: object) -> bool:
  return isinstance(value, (tuple, list)) and all(isinstance(n, str) and n for n in value)


def _check_finetune(config: ml_collections.ConfigDict) -> None:
  """The fields of ``config.finetune``; without ``pretrained`` the others must stay unset."""
  ft = config.finetune
  if not isinstance(ft, ml_collections.ConfigDict):
    raise ValueError(f"config.finetune must be a ConfigDict with fields {list(FINETUNE_FIELDS)}.")
  for field in ft.keys():
    if field not in FINETUNE_FIELDS:
      raise ValueError(
        f"config.finetune.{field} is not a field; the fields are {list(FINETUNE_FIELDS)}."
      )
  if ft.pretrained is not None and (not isinstance(ft.pretrained, str) or not ft.pretrained):
    raise ValueError(f"config.finetune.pretrained must be a path, got {ft.pretrained!r}.")
  m = ft.head_lr_multiplier
  if isinstance(m, bool) or not isinstance(m, (int, float)) or not (math.isfinite(m) and m > 0):
    raise ValueError(f"config.finetune.head_lr_multiplier must be a positive number, got {m!r}.")
  if ft.head is not None and (not _names(ft.head) or not ft.head):
    raise ValueError(
      f"config.finetune.head must be None (found from num_classes) or a tuple of layer names, "
      f"got {ft.head!r}."
    )
  if not _names(ft.freeze):
    raise ValueError(f"config.finetune.freeze must be a tuple of layer names, got {ft.freeze!r}.")
  shared = ft.shared_classes
  if shared is not None:
    pairs = isinstance(shared, (tuple, list)) and all(
      isinstance(p, (tuple, list))
      and len(p) == 2
      and all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in p)
      for p in shared
    )
    if not pairs:
      raise ValueError(
        "config.finetune.shared_classes must be ((target class, source class), ...) with "
        f"class indices >= 0, got {shared!r}."
      )
    targets = [p[0] for p in shared]
    if len(set(targets)) != len(targets):
      raise ValueError(f"config.finetune.shared_classes names a target class twice: {shared!r}.")
  if ft.pretrained is None:
    unset = {
      "head": ft.head is not None,
      "head_lr_multiplier": ft.head_lr_multiplier != 10.0,
      "freeze": bool(ft.freeze),
      "shared_classes": ft.shared_classes is not None,
    }
    for field, set_ in unset.items():
      if set_:
        raise ValueError(
          f"config.finetune.{field} applies only when fine-tuning; set "
          "config.finetune.pretrained to the weights to start from."
        )


def _check_modes(config: ml_collections.ConfigDict) -> None:
  """Rejects settings that the chosen data mode would silently ignore."""
  if not config.streaming:
    if config.worker_count:
      raise ValueError("config.worker_count applies only with config.streaming=True.")
    return
  ignored = {
    "standardize": config.standardize,
    "image_size": config.image_size is not None,
    "scan_epochs": config.scan_epochs is True,
    "eval_train": config.eval_train,
  }
  for field, set_ in ignored.items():
    if set_:
      raise ValueError(
        f"config.{field} is not supported with config.streaming=True (streamed data is read "
        "as stored, one batch at a time); prepare the data as the model needs it, or train "
        "in memory."
      )
  if data.is_embedded(config.dataset):
    raise ValueError(
      f"config.streaming=True streams TFDS datasets; {config.dataset!r} is embedded and fits "
      "in memory: set config.streaming=False."
    )
