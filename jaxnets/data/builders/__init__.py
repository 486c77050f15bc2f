"""TensorFlow-free TFDS builders for MNIST, Fashion-MNIST and CIFAR-10.

TFDS's own builders for these datasets need TensorFlow to prepare them. These parse the
original distribution files with numpy (:mod:`jaxnets.data.builders.formats`), write
``array_record`` files with ``tfds.features.Tensor`` features, and are then read through
``tfds.data_source`` like any TFDS dataset. ``jaxnets.data.load("fashion_mnist", ...)`` goes
through :func:`data_source`, which prepares the dataset on first use:

1. already prepared in ``data_dir``: read it;
2. otherwise, the original files in the manual dir (default
   ``<data_dir>/downloads/manual/<name>/``) are parsed;
3. otherwise they are downloaded from the original URLs — unless ``download=False`` or the
   environment variable ``JAXNETS_OFFLINE=1`` is set, or the hosts cannot be reached (checked
   with a 5 s TCP connect first) — and otherwise a ``FileNotFoundError`` lists the file names,
   their URLs and where to put them.

Registered TFDS names: ``jaxnets_mnist``, ``jaxnets_fashion_mnist``, ``jaxnets_cifar10``.
Prepare from the command line with
``python -m jaxnets.data.builders --dataset=fashion_mnist --manual_dir=DIR [--data_dir=DIR]``.

Example:
  >>> sorted(BUILDERS)
  ['cifar10', 'fashion_mnist', 'mnist']
  >>> BUILDERS["mnist"].name
  'jaxnets_mnist'
"""

from __future__ import annotations

import os
import socket
import urllib.parse

import tensorflow_datasets as tfds

from jaxnets.data.builders.base import SourceFilesBuilder
from jaxnets.data.builders.cifar10 import JaxnetsCifar10
from jaxnets.data.builders.mnist import JaxnetsFashionMnist, JaxnetsMnist

BUILDERS: dict[str, type[SourceFilesBuilder]] = {
  "mnist": JaxnetsMnist,
  "fashion_mnist": JaxnetsFashionMnist,
  "cifar10": JaxnetsCifar10,
}
OFFLINE_ENV = "JAXNETS_OFFLINE"
FILE_FORMAT = "array_record"


def _builder_class(name: str) -> type[SourceFilesBuilder]:
  if name not in BUILDERS:
    raise ValueError(f"No jaxnets builder for {name!r}; valid names: {sorted(BUILDERS)}.")
  return BUILDERS[name]


def get_builder(name: str, data_dir: str | os.PathLike | None = None) -> SourceFilesBuilder:
  """The jaxnets TFDS builder of ``name`` (``mnist``, ``fashion_mnist``, ``cifar10``)."""
  return _builder_class(name)(data_dir=data_dir, file_format=FILE_FORMAT)


def default_manual_dir(name: str, data_dir: str | os.PathLike | None = None) -> str:
  """``<data_dir>/downloads/manual/<name>``: where the original files are looked for."""
  root = get_builder(name, data_dir).data_dir_root
  return os.path.join(os.fspath(root), "downloads", "manual", name)


def files_help(name: str, manual_dir: str | os.PathLike) -> str:
  """How to provide the files of ``name`` by hand: their names, URLs and the directory."""
  cls = _builder_class(name)
  lines = [f"Download these files where you are online and put them in {os.fspath(manual_dir)}:"]
  lines += [f"  {file_name}  ({cls.URLS[key]})" for key, file_name in cls.file_names().items()]
  lines += [
    cls.MANUAL_DOWNLOAD_INSTRUCTIONS,
    f"Or prepare it once from any directory: python -m jaxnets.data.builders "
    f"--dataset={name} --manual_dir=DIR [--data_dir=DATA_DIR].",
  ]
  return "\n".join(lines)


def _offline(download: bool | None) -> bool:
  if download is not None:
    return not download
  return os.environ.get(OFFLINE_ENV, "").lower() in ("1", "true", "yes")


def _unreachable(urls, timeout: float = 5.0) -> str | None:
  """None when every URL's host accepts a TCP connection, else why not.

  Checked before downloading because TFDS retries failed downloads for minutes. Skipped
  behind an HTTP(S) proxy, where direct connections may fail while downloads work.
  """
  if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")):
    return None
  for host, port in sorted({_host_port(url) for url in urls}):
    try:
      socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
      return f"cannot reach {host}:{port}: {err}"
  return None


def _host_port(url: str) -> tuple[str, int]:
  parts = urllib.parse.urlsplit(url)
  return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def prepare(
  name: str,
  *,
  data_dir: str | os.PathLike | None = None,
  manual_dir: str | os.PathLike | None = None,
  download: bool | None = None,
) -> SourceFilesBuilder:
  """Prepares ``name`` in ``data_dir`` (once) from local files or a download.

  Args:
    name: ``mnist``, ``fashion_mnist`` or ``cifar10``.
    data_dir: TFDS data directory (default: TFDS's, ``~/tensorflow_datasets``).
    manual_dir: directory holding the original files (default
      :func:`default_manual_dir`).
    download: whether missing files may be downloaded (default: yes unless
      ``JAXNETS_OFFLINE=1``).

  Returns:
    The prepared builder.

  Raises:
    ValueError: an unknown name, or source files that are not in the expected format.
    FileNotFoundError: the files are neither prepared, in ``manual_dir``, nor downloadable;
      the message lists them and where to put them.
  """
  builder = get_builder(name, data_dir)
  if builder.is_prepared():
    return builder
  manual_dir = os.path.expanduser(os.fspath(manual_dir or default_manual_dir(name, data_dir)))
  local = builder.find_manual_files(manual_dir) is not None
  where = os.fspath(builder.data_dir_root)
  if not local and _offline(download):
    raise FileNotFoundError(
      f"Dataset {name!r} is not prepared in {where} and its original files are not in "
      f"{manual_dir}; downloads are off ({OFFLINE_ENV}=1 or download=False).\n"
      + files_help(name, manual_dir)
    )
  if not local:
    reason = _unreachable(builder.URLS.values())
    if reason:
      raise FileNotFoundError(
        f"Dataset {name!r} is not prepared in {where}, its files are not in {manual_dir}, and "
        f"they cannot be downloaded ({reason}).\n" + files_help(name, manual_dir)
      )
  config = tfds.download.DownloadConfig(manual_dir=manual_dir)
  try:
    builder.download_and_prepare(download_config=config)
  except ValueError:
    raise  # The files were found but are not in the original format: the message says which.
  except Exception as err:  # Network errors come in many types.
    if local:
      raise
    raise FileNotFoundError(
      f"Dataset {name!r} is not prepared in {where}, its files are not in {manual_dir}, and "
      f"downloading them failed ({type(err).__name__}: {err}).\n" + files_help(name, manual_dir)
    ) from err
  return builder


def data_source(
  name: str,
  split: str = "train",
  *,
  data_dir: str | os.PathLike | None = None,
  manual_dir: str | os.PathLike | None = None,
  download: bool | None = None,
):
  """``tfds.data_source`` of a jaxnets-built dataset, preparing it first if needed.

  Records are ``{"image": uint8[h, w, c], "label": int64}``. Arguments as in :func:`prepare`;
  ``split`` is any TFDS split string (``"train"``, ``"test"``, ``"train[:10%]"``).
  """
  builder = prepare(name, data_dir=data_dir, manual_dir=manual_dir, download=download)
  return tfds.data_source(builder.name, split=split, data_dir=data_dir, download=False)


__all__ = [
  "BUILDERS",
  "JaxnetsCifar10",
  "JaxnetsFashionMnist",
  "JaxnetsMnist",
  "SourceFilesBuilder",
  "data_source",
  "default_manual_dir",
  "files_help",
  "get_builder",
  "prepare",
]
