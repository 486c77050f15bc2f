"""The Colab quickstart notebook is what its generator writes, and it runs top to bottom on CPU."""

import os
import pathlib

import nbclient
import nbformat

from experiments import colab_notebook

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_committed_notebook_is_the_generated_one():
  with open(colab_notebook.PATH) as f:
    committed = f.read()
  assert committed == colab_notebook.render(), "run: python -m experiments.colab_notebook"
  nbformat.validate(nbformat.reads(committed, as_version=4))


def test_notebook_executes_on_cpu_with_small_sizes(tmp_path, monkeypatch):
  # The kernel imports this checkout's jaxnets (so the install cell is skipped) and sees two
  # simulated CPU devices, so the data-parallel path really splits each batch.
  monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
  monkeypatch.setenv("JAX_PLATFORMS", "cpu")
  monkeypatch.setenv("JAXNETS_NOTEBOOK_SMALL", "1")
  nb = colab_notebook.build()
  client = nbclient.NotebookClient(
    nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
  )
  client.execute()  # Raises CellExecutionError, with the cell and traceback, if a cell fails.

  def text(i: int) -> str:
    outs = nb.cells[i].get("outputs", [])
    return "".join(o.get("text", "") for o in outs if o.get("output_type") == "stream")

  install, devices, mlp, hessian, cnn = (text(i) for i in (1, 3, 5, 7, 9))
  assert "jaxnets" in install and "Successfully installed" not in install
  assert "devices=2 mesh={'data': 2}" in devices and "small sizes" in devices
  assert "Final test accuracy" in mlp and "Final test accuracy" in cnn, mlp + cnn
  assert "parameters replicated over 2 device(s)" in mlp
  assert "top Hessian eigenvalues:" in hessian and "eta < 2/sharpness" in hessian
  figures = [o for o in nb.cells[7]["outputs"] if "image/png" in o.get("data", {})]
  assert len(figures) == 1
  assert "ResNet-18 parameters: 176258" in cnn
