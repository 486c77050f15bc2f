"""The shared TFDS builder: Tensor features, examples parsed from the original files.

Preparing needs no TensorFlow because every feature is a ``tfds.features.Tensor`` (the
``Image`` feature would encode PNGs with TensorFlow), and the records are written as
``array_record`` files that ``tfds.data_source`` reads randomly.
"""

from __future__ import annotations

import inspect
import os
from typing import ClassVar, Iterator

import numpy as np
import tensorflow_datasets as tfds
from etils import epath


class SourceFilesBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Builds ``train``/``test`` from the original files, found in the manual dir or downloaded.

  Subclasses set :attr:`URLS` (one URL per source file; the file name is the URL's last part),
  the image shape, the class names and :meth:`_read_split`.
  """

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES: ClassVar[dict[str, str]] = {
    "1.0.0": "Parsed from the original files with numpy; Tensor features; no TensorFlow."
  }
  URLS: ClassVar[dict[str, str]] = {}
  IMAGE_SHAPE: ClassVar[tuple[int, int, int]] = ()
  CLASS_NAMES: ClassVar[tuple[str, ...]] = ()
  HOMEPAGE: ClassVar[str] = ""
  DESCRIPTION: ClassVar[str] = ""

  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls) -> epath.Path:
    """This builder's source file. (TFDS's own lookup needs the optional importlib_resources
    package for builders that live in a package.)"""
    return epath.Path(inspect.getfile(cls))

  @classmethod
  def file_names(cls) -> dict[str, str]:
    """``{key: file name}`` of the files to place in the manual dir."""
    return {key: url.rsplit("/", 1)[-1] for key, url in cls.URLS.items()}

  @classmethod
  def _candidates(cls, file_name: str) -> tuple[str, ...]:
    """Names accepted for a source file in the manual dir (e.g. also its unpacked form)."""
    return (file_name,)

  @classmethod
  def find_manual_files(cls, manual_dir: str | os.PathLike | None) -> dict[str, str] | None:
    """Paths of all source files in ``manual_dir``, or None when any is missing."""
    if manual_dir is None or not os.path.isdir(manual_dir):
      return None
    found = {}
    for key, file_name in cls.file_names().items():
      paths = [os.path.join(manual_dir, c) for c in cls._candidates(file_name)]
      existing = [p for p in paths if os.path.exists(p)]
      if not existing:
        return None
      found[key] = existing[0]
    return found

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
      builder=self,
      description=self.DESCRIPTION,
      features=tfds.features.FeaturesDict(
        {
          "image": tfds.features.Tensor(shape=self.IMAGE_SHAPE, dtype=np.uint8),
          "label": tfds.features.ClassLabel(names=list(self.CLASS_NAMES)),
        }
      ),
      supervised_keys=("image", "label"),
      disable_shuffling=True,  # Keep the original file order (and its example ids).
      homepage=self.HOMEPAGE,
    )

  def _source_paths(self, dl_manager: tfds.download.DownloadManager) -> dict[str, str]:
    try:
      manual_dir = dl_manager.manual_dir
    except AssertionError:  # TFDS: the manual dir does not exist or is empty.
      manual_dir = None
    found = self.find_manual_files(manual_dir)
    if found is not None:
      return found
    return {k: os.fspath(p) for k, p in dl_manager.download(dict(self.URLS)).items()}

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    paths = self._source_paths(dl_manager)
    return {split: self._generate_examples(paths, split) for split in ("train", "test")}

  def _read_split(self, paths: dict[str, str], split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(uint8[n, *IMAGE_SHAPE] images, int[n] labels)`` of one split."""
    raise NotImplementedError

  def _generate_examples(self, paths: dict[str, str], split: str) -> Iterator[tuple[int, dict]]:
    images, labels = self._read_split(paths, split)
    if images.shape[1:] != self.IMAGE_SHAPE or len(images) != len(labels):
      raise ValueError(
        f"{self.name} {split}: expected images of shape (n, "
        f"{', '.join(map(str, self.IMAGE_SHAPE))}) and n labels, got "
        f"{images.shape} and {len(labels)} labels."
      )
    num_classes = len(self.CLASS_NAMES)
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
      raise ValueError(
        f"{self.name} {split}: labels must be in 0..{num_classes - 1}, got "
        f"{labels.min()}..{labels.max()}."
      )
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
      yield i, {"image": image, "label": int(label)}
