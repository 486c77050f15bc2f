"""Prepares a jaxnets dataset once, from local files or a download.

Usage:
  python -m jaxnets.data.builders --dataset=fashion_mnist --manual_dir=~/fashion_files \\
      [--data_dir=~/tensorflow_datasets]
"""

from absl import app, flags

from jaxnets.data import builders

FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defined only when run as a program, so importing this module defines no global flags."""
  flags.DEFINE_enum("dataset", None, sorted(builders.BUILDERS), "Dataset to prepare.")
  flags.DEFINE_string("data_dir", None, "TFDS data directory (default: TFDS's).")
  flags.DEFINE_string(
    "manual_dir",
    None,
    "Directory holding the original files (default: <data_dir>/downloads/manual/<dataset>).",
  )
  flags.DEFINE_bool("download", True, "Download the files when they are not local.")
  flags.mark_flag_as_required("dataset")


def main(argv) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  builder = builders.prepare(
    FLAGS.dataset, data_dir=FLAGS.data_dir, manual_dir=FLAGS.manual_dir, download=FLAGS.download
  )
  splits = {k: v.num_examples for k, v in builder.info.splits.items()}
  print(f"{builder.name} prepared in {builder.data_dir}: {splits}")


if __name__ == "__main__":
  _define_flags()
  app.run(main)
