"""Smoke test of experiments/mnist1d_table.py: tiny settings, the table and plots exist."""

import json
import operator
import os

import numpy as np
import pytest

from experiments import mnist1d_table


@pytest.fixture(scope="module")
def results(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("mnist1d_table"))
  out = mnist1d_table.run(
    workdir,
    models=("cnn",),
    epochs=2,
    eval_every=1,
    grids={"adam": (0.01, 0.03)},
    warmup_epochs=1,
  )
  return workdir, out


def test_writes_plots_json_and_the_published_numbers(results):
  workdir, out = results
  assert {os.path.basename(p) for p in out["plots"]} == {"mnist1d_table.png", "mnist1d_curves.png"}
  for path in out["plots"]:
    assert os.path.getsize(path) > 5000
  with open(os.path.join(workdir, "results.json")) as f:
    assert json.load(f)["models"]["cnn"]["published"] == 0.94
  table = mnist1d_table.format_table(out)
  assert "94%" in table and "92%" in table and "best with jaxnets" in table


def test_rows_are_sane(results):
  _, out = results
  row = out["models"]["cnn"]
  paper, best = row["paper"], row["best"]
  assert len(paper["test_accuracy"]) == 3 and len(best["test_accuracy"]) == 3
  # Two epochs already put the CNN far above chance (10 %), below the paper's 6000 steps.
  assert 0.25 < paper["mean"] < 0.95 and 0.25 < best["mean"] < 0.95
  assert np.std(paper["test_accuracy"]) > 0  # Three different seeds.
  assert len(paper["curve"]) == 2 and paper["curve"][1] > paper["curve"][0] - 0.05
  assert best["optimizer"] == "adam" and best["learning_rate"] in (0.01, 0.03)
  assert set(best["validation_accuracy"]) == {"adam"}
  assert len(best["validation_accuracy"]["adam"]) == 2


def test_split_and_bad_settings(tmp_path):
  train = {"x": np.arange(20.0)[:, None], "y": np.arange(20)}
  fit, val = mnist1d_table.split_train(train, 5)
  assert len(fit["x"]) == 15 and len(val["x"]) == 5
  assert sorted(np.concatenate([fit["y"], val["y"]]).tolist()) == list(range(20))
  with pytest.raises(ValueError, match="val_size"):
    mnist1d_table.split_train(train, 20)
  with pytest.raises(ValueError, match="Unknown models"):
    mnist1d_table.run(str(tmp_path), models=("resnet",))
  with pytest.raises(ValueError, match="eval_every must divide"):
    mnist1d_table.run(str(tmp_path), epochs=10, eval_every=3)
  with pytest.raises(ValueError, match=r"select_epochs \(20, at most epochs\) must be above"):
    mnist1d_table.run(str(tmp_path), epochs=20, select_epochs=40, warmup_epochs=20)


def test_one_model_one_seed_without_the_search(tmp_path):
  out = mnist1d_table.run(
    str(tmp_path), models=("logistic",), seeds=(0,), epochs=1, eval_every=1, best=False
  )
  row = out["models"]["logistic"]
  assert row["best"] is None and len(row["paper"]["test_accuracy"]) == 1
  table = mnist1d_table.format_table(out)
  assert "--nobest" in table and "1 seeds" in table
  assert len(out["plots"]) == 2


def test_concurrent_sweeps_give_the_results_of_one_at_a_time(tmp_path):
  settings = dict(
    models=("logistic", "mlp"),
    seeds=(0, 1),
    epochs=2,
    eval_every=2,
    grids={"adam": (0.01,), "momentum": (0.03, 0.1)},
    warmup_epochs=1,
    select_epochs=2,
  )
  one = mnist1d_table.run(str(tmp_path / "one"), workers=1, **settings)
  three = mnist1d_table.run(str(tmp_path / "three"), workers=3, **settings)
  assert three["workers"] == 3 and "3 sweeps at a time" in mnist1d_table.format_table(three)
  for name in settings["models"]:
    a, b = one["models"][name], three["models"][name]
    assert a["paper"]["test_accuracy"] == b["paper"]["test_accuracy"]
    for key in ("test_accuracy", "optimizer", "learning_rate", "validation_accuracy"):
      assert a["best"][key] == b["best"][key], (name, key)
  with pytest.raises(ValueError, match="workers must be 0"):
    mnist1d_table.run(str(tmp_path), workers=-1)
  with pytest.raises(ValueError, match=r"select_seeds must be in \[1, 2\]"):
    mnist1d_table.run(str(tmp_path), seeds=(0, 1), select_seeds=3)


def test_schedule_runs_needs_first_in_worker_processes_of_one_core_each():
  Job = mnist1d_table.Job
  jobs = [
    Job(("cpus",), (), lambda done: (os.sched_getaffinity, (0,), {})),
    Job(("sum",), (), lambda done: (operator.add, (1, 2), {})),
    Job(("product",), (("sum",),), lambda done: (operator.mul, (done["sum",], 10), {})),
    Job(("pid",), (), lambda done: (os.getpid, (), {})),
  ]
  pool = mnist1d_table.start_workers(2)
  try:
    done = mnist1d_table.schedule(jobs, pool, 2)
  finally:
    pool.shutdown()
  assert done["product",][0] == 30 and done["pid",][0] != os.getpid()
  assert len(done["cpus",][0]) == 1  # Pinned.
  here = mnist1d_table.schedule(jobs)  # No pool: one after another in this process.
  assert here["product",][0] == 30 and here["pid",][0] == os.getpid()
  with pytest.raises(ValueError, match="unique keys and known needs"):
    mnist1d_table.schedule([Job(("a",), (("b",),), lambda done: (abs, (1,), {}))])
