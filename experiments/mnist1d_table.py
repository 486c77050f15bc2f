r"""The MNIST-1D benchmark table (Greydanus, 2020), reproduced with jaxnets.

Row 1, **the paper's recipe**: logistic regression, the MLP (40-100-100-10, ReLU) and the 1-D
CNN (three 25-channel stride-2 convolutions, then a dense layer) of
:mod:`jaxnets.models.mnist1d`, trained with Adam (η = 1e-2, β = (0.9, 0.999), ε = 1e-8 as in
PyTorch, jaxnets' from-scratch ``adam``) on batches of 100 for 150 epochs of the 4000 training
signals (6000 steps), 3 seeds trained together in one vmapped program; the final test accuracy
is printed beside the published one (32 %, 68 %, 94 %).

Row 2, **best with jaxnets**: the same models, batches and epochs, with a linear warmup of η
over 5 epochs, then a cosine decay to 0, and L2 weight decay 1e-3; the optimizer (Adam,
momentum SGD, RMSProp) and η are chosen on a validation split carved from the training set
(the last ``val_size`` examples of a fixed permutation; the first ones train) by one vmapped
sweep per model, every (optimizer, η) trained with the first ``select_seeds`` seeds for
``select_epochs`` epochs (its own warmup and cosine), the optimizers as one
:func:`jaxnets.optim.switch`; then the row's 3 seeds are retrained with the choice on the full
training set for all the epochs and tested once. Every optimizer runs with the course's
defaults (``convention="course"``: ε = 1e-6 where the row does not set it). The table's sweeps
run in worker processes, one per core (``--workers``).

Run:
  python -m experiments.mnist1d_table --workdir=runs/mnist1d_table
  python -m experiments.mnist1d_table --models=mlp --seeds=0 --nobest   # one row, quickly

Writes ``mnist1d_table.png`` (accuracies, published vs ours), ``mnist1d_curves.png`` (test
accuracy during training) and ``results.json`` into the workdir and prints the table.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import os
import time
from typing import Any, Callable, Mapping, Sequence

import jax
import numpy as np

from experiments import common
from jaxnets import data
from jaxnets import train as train_lib

MODELS = {"logistic": "mnist1d_logistic", "mlp": "mnist1d_mlp", "cnn": "mnist1d_cnn"}
PUBLISHED = {"logistic": 0.32, "mlp": 0.68, "cnn": 0.94}  # Test accuracy, Greydanus (2020).
TARGETS = {"logistic": 0.31, "mlp": 0.64, "cnn": 0.92}  # What the paper recipe must reach.
BEST_GRIDS: dict[str, tuple[float, ...]] = {
  "adam": (3e-3, 1e-2, 3e-2),
  "momentum": (3e-2, 0.1, 0.3),
  "rmsprop": (3e-4, 1e-3, 3e-3),
}
PAPER_OPTIMIZER = {"name": "adam", "learning_rate": 1e-2, "eps": 1e-8}


@dataclasses.dataclass(frozen=True)
class Plan:
  """How long every run of the table trains, how often it is evaluated, and how it loops."""

  epochs: int
  eval_every: int
  scan: bool


def _train(
  model: str,
  splits: Mapping[str, Mapping[str, np.ndarray]],
  plan: Plan,
  optimizer: Mapping[str, Any],
  members: Sequence[Mapping[str, Any]],
  *,
  cosine: bool = False,
  weight_decay: float = 0.0,
  warmup_epochs: int = 0,
) -> dict[str, Any]:
  """Trains ``model`` once per member in one engine sweep (from-scratch optimizers, batch 100).

  ``splits`` holds ``"train"`` and the evaluated splits, whose accuracy is recorded every
  ``plan.eval_every`` epochs.
  """
  config = common.engine_config(
    task="classification",
    model={"name": MODELS[model]},
    batch_size=100,
    num_epochs=plan.epochs,
    optimizer=dict(optimizer, convention="course"),
    optimizer_impl="scratch",
    lr_schedule="cosine" if cosine else "constant",
    warmup_epochs=warmup_epochs,
    weight_decay=weight_decay,
    eval_train=False,
    eval_every_epochs=plan.eval_every,
    scan_epochs=plan.scan,
  )
  start = time.perf_counter()
  result = train_lib.train_sweep(config, members, data=splits)
  return {
    "seconds": time.perf_counter() - start,
    "compile_seconds": result.compile_seconds,
    "accuracy": {k: result.history[f"{k}_accuracy"] for k in splits if k != "train"},
    "final_train_loss": result.history["train_loss"][:, -1],
  }


def _test_summary(out: Mapping[str, Any]) -> dict[str, Any]:
  """The final test accuracy of every member, their mean and spread, the mean curve."""
  acc = out["accuracy"]["test"]
  final = acc[:, -1]
  return {
    "test_accuracy": final.tolist(),
    "mean": float(final.mean()),
    "std": float(final.std()),
    "curve": acc.mean(0).tolist(),
    "seconds": out["seconds"],
  }


def paper_recipe(name: str, train: dict, test: dict, seeds: Sequence[int], plan: Plan) -> dict:
  """The paper's Adam recipe for one model, all seeds in one vmapped program."""
  members = [{"seed": int(s)} for s in seeds]
  out = _train(name, {"train": train, "test": test}, plan, PAPER_OPTIMIZER, members)
  return dict(
    _test_summary(out),
    final_train_loss=out["final_train_loss"].tolist(),
    compile_seconds=out["compile_seconds"],
  )


def split_train(train: dict, val_size: int, seed: int = 0) -> tuple[dict, dict]:
  """A fixed random split of the training set into (fit, validation).

  Example:
    >>> fit, val = split_train({"x": np.zeros((10, 2)), "y": np.arange(10)}, 3)
    >>> len(fit["y"]), len(val["y"])
    (7, 3)
  """
  n = len(train["x"])
  if not 0 < val_size < n:
    raise ValueError(f"val_size must be in (0, {n}), got {val_size}.")
  order = np.random.default_rng(seed).permutation(n)
  fit, val = order[: n - val_size], order[n - val_size :]
  return ({k: v[fit] for k, v in train.items()}, {k: v[val] for k, v in train.items()})


def select(
  name: str,
  fit: dict,
  val: dict,
  seeds: Sequence[int],
  plan: Plan,
  grids: Mapping[str, Sequence[float]],
  *,
  weight_decay: float,
  warmup_epochs: int,
) -> dict[str, list[float]]:
  """Per optimizer, the mean validation accuracy over ``seeds`` of each rate (ascending).

  Every (optimizer, rate, seed) trains in one vmapped sweep (the optimizers as one
  :func:`jaxnets.optim.switch`) with the "best" row's recipe (linear warmup of η, cosine
  decay to 0, weight decay); they are evaluated once, after the last epoch.
  """
  members = [
    {"optimizer.name": opt, "optimizer.learning_rate": float(rate), "seed": int(seed)}
    for opt, rates in grids.items()
    for rate in sorted(rates)
    for seed in seeds
  ]
  once = dataclasses.replace(plan, eval_every=plan.epochs)
  out = _train(
    name,
    {"train": fit, "val": val},
    once,
    {"name": next(iter(grids)), "learning_rate": 1.0},
    members,
    cosine=True,
    weight_decay=weight_decay,
    warmup_epochs=warmup_epochs,
  )
  accuracy = out["accuracy"]["val"][:, -1]
  selection = {}
  for opt in grids:
    rows = [i for i, m in enumerate(members) if m["optimizer.name"] == opt]
    rates = [members[i]["optimizer.learning_rate"] for i in rows]
    selection[opt] = train_lib.best_member(accuracy[rows], rates)[1].tolist()
  return selection


def choose(
  selection: Mapping[str, Sequence[float]], grids: Mapping[str, Sequence[float]]
) -> tuple[str, float]:
  """The (optimizer, η) with the best mean validation accuracy in ``selection``.

  Example:
    >>> choose({"adam": [0.5, 0.7], "sgd": [0.6]}, {"adam": (0.1, 0.01), "sgd": (1.0,)})
    ('adam', 0.1)
  """
  opt, i = max(
    ((o, i) for o, accs in selection.items() for i in range(len(accs))),
    key=lambda oi: selection[oi[0]][oi[1]],
  )
  return opt, float(sorted(grids[opt])[i])  # select() orders the rates ascending.


def retrain(
  name: str,
  train: dict,
  test: dict,
  seeds: Sequence[int],
  plan: Plan,
  selection: Mapping[str, Sequence[float]],
  grids: Mapping[str, Sequence[float]],
  *,
  weight_decay: float,
  warmup_epochs: int,
) -> dict[str, Any]:
  """Trains the seeds on all of ``train`` with the (optimizer, η) ``selection`` chose, tests them.

  ``selection`` holds :func:`select`'s accuracies per optimizer; :func:`choose` picks.
  """
  opt, lr = choose(selection, grids)
  members = [{"seed": int(s)} for s in seeds]
  out = _train(
    name,
    {"train": train, "test": test},
    plan,
    {"name": opt, "learning_rate": lr},
    members,
    cosine=True,
    weight_decay=weight_decay,
    warmup_epochs=warmup_epochs,
  )
  return dict(
    _test_summary(out), optimizer=opt, learning_rate=lr, validation_accuracy=dict(selection)
  )


def _plot(workdir: str, results: dict) -> list[str]:
  save = common.FigureSaver(workdir, common.pyplot())
  plt = save.plt
  rows = results["models"]
  names = list(rows)
  n_seeds = len(results["seeds"])
  has_best = all(rows[n]["best"] is not None for n in names)
  fig, ax = plt.subplots(figsize=(7, 4))
  xs = np.arange(len(names))
  ax.bar(xs - 0.27, [PUBLISHED[n] for n in names], 0.27, label="published (Greydanus 2020)")
  ax.bar(
    xs,
    [rows[n]["paper"]["mean"] for n in names],
    0.27,
    yerr=[rows[n]["paper"]["std"] for n in names],
    capsize=4,
    label=f"jaxnets, paper recipe ({n_seeds} seeds)",
  )
  if has_best:
    ax.bar(
      xs + 0.27,
      [rows[n]["best"]["mean"] for n in names],
      0.27,
      yerr=[rows[n]["best"]["std"] for n in names],
      capsize=4,
      label=f"best with jaxnets ({n_seeds} seeds)",
    )
  ax.set(xticks=xs, xticklabels=names, ylabel="test accuracy", ylim=(0, 1), title="MNIST-1D")
  ax.legend(fontsize=8, loc="upper left")
  save(fig, "mnist1d_table.png")

  fig, ax = plt.subplots(figsize=(7, 4))
  for n in names:
    for row, style in (("paper", "-"), ("best", "--"))[: 2 if has_best else 1]:
      curve = rows[n][row]["curve"]
      epochs = np.linspace(results["epochs"] / len(curve), results["epochs"], len(curve))
      ax.plot(epochs, curve, style, label=f"{n}, {row}")
    ax.axhline(PUBLISHED[n], color="gray", lw=0.6)
  ax.set(
    xlabel="epoch",
    ylabel=f"test accuracy (mean of {n_seeds} seeds)",
    ylim=(0, 1),
    title="MNIST-1D test accuracy during training (gray: published)",
  )
  ax.legend(fontsize=7, ncol=3)
  save(fig, "mnist1d_curves.png")
  return save.paths


def format_table(results: Mapping[str, Any]) -> str:
  """The table as text: published numbers beside ours."""
  lines = [
    f"MNIST-1D test accuracy ({results['epochs']} epochs of batch 100, mean ± std over "
    f"{len(results['seeds'])} seeds trained together with vmap)",
    "model     published  paper recipe (Adam 1e-2)  target  met  "
    f"best with jaxnets (chosen on validation after {results['select_epochs']} epochs)",
  ]
  for name, row in results["models"].items():
    p, b = row["paper"], row["best"]
    met = "yes" if p["mean"] >= TARGETS[name] else "NO"
    searched = (
      "- (--nobest)"
      if b is None
      else f"{b['mean']:.1%} ± {b['std']:.1%} ({b['optimizer']}, η={b['learning_rate']:g}, "
      f"warmup {results['warmup_epochs']}, cosine, wd {results['weight_decay']:g})"
    )
    lines.append(
      f"{name:<9} {PUBLISHED[name]:>8.0%}   {p['mean']:>7.1%} ± {p['std']:<12.1%}  "
      f"{TARGETS[name]:>5.0%}  {met:<3}  {searched}"
    )
  lines += [
    "",
    f"wall time {results['wall_time_s']:.1f} s with {results['workers']} sweeps at a time "
    "(time in each row's sweeps: "
    + ", ".join(f"{n} {r['seconds']:.1f} s" for n, r in results["models"].items())
    + ")",
  ]
  return "\n".join(lines)


def _timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
  """``fn``'s result and its wall time in seconds."""
  start = time.perf_counter()
  result = fn(*args, **kwargs)
  return result, time.perf_counter() - start


@dataclasses.dataclass(frozen=True)
class Job:
  """One sweep of the table: ``call(done)`` gives ``(fn, args, kwargs)`` once ``needs`` are done.

  ``done`` maps the keys of finished jobs to their results.
  """

  key: tuple[str, ...]
  needs: tuple[tuple[str, ...], ...]
  call: Callable[[Mapping[tuple[str, ...], Any]], tuple[Callable[..., Any], tuple, dict]]


def _pin_worker(counter: Any, cpus: Sequence[int]) -> None:
  """Pins a worker process to one CPU of ``cpus``, each worker the next (before JAX starts)."""
  with counter.get_lock():
    i, counter.value = counter.value, counter.value + 1
  os.sched_setaffinity(0, {cpus[i % len(cpus)]})


def usable_cpus() -> list[int]:
  """The CPUs this process may run on."""
  return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]


def default_workers() -> int:
  """Worker processes for the table: one per usable core (at most 8) on CPU, else 1."""
  return min(len(usable_cpus()), 8) if jax.default_backend() == "cpu" else 1


def start_workers(workers: int) -> concurrent.futures.ProcessPoolExecutor | None:
  """``workers`` worker processes, each pinned to one core, started now; None for one worker.

  They are spawned (forking a process that runs JAX is unsafe) and import JAX and jaxnets as
  they start, while the caller prepares the data.
  """
  if workers == 1:
    return None
  context = multiprocessing.get_context("spawn")
  pool = concurrent.futures.ProcessPoolExecutor(
    workers,
    mp_context=context,
    initializer=_pin_worker,
    initargs=(context.Value("i", 0), usable_cpus()),
  )
  for _ in range(workers):  # Each submission to a pool without an idle worker spawns one.
    pool.submit(os.getpid)
  return pool


def schedule(
  jobs: Sequence[Job], pool: concurrent.futures.Executor | None = None, workers: int = 1
) -> dict[tuple[str, ...], tuple[Any, float]]:
  """Runs ``jobs`` (in priority order, each after its ``needs``) on the ``workers`` of ``pool``.

  Without a pool the jobs run here, one after another. With one (:func:`start_workers`)
  every worker process trains one sweep at a time on its own core: sweeps of these small
  models keep one core busy each; two threads of one process ran each sweep ~1.4x slower
  than alone, and threads sharing XLA's CPU thread pool summed the CNN's products in another
  order (other accuracies), where processes give exactly the results of one at a time
  (``benchmarks/RESULTS.md``). Whenever a worker is free the first job in ``jobs`` whose
  needs are done starts, so a long job that waits for others (a retrain after its selection)
  goes ahead of shorter ones queued before it became ready.

  Returns:
    ``{key: (result, seconds)}`` for every job.
  """
  keys = [job.key for job in jobs]
  if len(set(keys)) != len(keys) or any(n not in keys for job in jobs for n in job.needs):
    raise ValueError(f"Jobs need unique keys and known needs, got {keys}.")
  done: dict[tuple[str, ...], tuple[Any, float]] = {}
  results = lambda: {k: result for k, (result, _) in done.items()}
  ready = lambda: [j for j in pending if all(n in done for n in j.needs)]
  pending = list(jobs)
  if pool is None:
    while pending:
      job = ready()[0]
      fn, args, kwargs = job.call(results())
      done[job.key] = _timed(fn, *args, **kwargs)
      pending.remove(job)
    return done
  running: dict[concurrent.futures.Future, tuple[str, ...]] = {}
  while pending or running:
    for job in ready()[: workers - len(running)]:
      fn, args, kwargs = job.call(results())
      running[pool.submit(_timed, fn, *args, **kwargs)] = job.key
      pending.remove(job)
    finished, _ = concurrent.futures.wait(running, return_when="FIRST_COMPLETED")
    for future in finished:
      done[running.pop(future)] = future.result()
  return done


@dataclasses.dataclass(frozen=True)
class Selection:
  """How the "best" row chooses its optimizer and η (see :func:`run`)."""

  grids: Mapping[str, Sequence[float]]
  val_size: int
  epochs: int
  seeds: int


def table_jobs(
  models: Sequence[str],
  seeds: Sequence[int],
  train: dict,
  test: dict,
  plan: Plan,
  selection: Selection | None,
  recipe: Mapping[str, Any],
) -> list[Job]:
  """The table's sweeps in priority order: the longest rows first; None: no "best" row.

  Per row: the selection sweep, the retrain (after it), the paper recipe.
  """
  if selection is not None:
    fit, val = split_train(train, selection.val_size)
    short = dataclasses.replace(plan, epochs=selection.epochs)
    chosen_by = tuple(seeds[: selection.seeds])
  jobs = []
  for name in sorted(models, key=list(reversed(MODELS)).index):
    if selection is not None:
      args = (name, fit, val, chosen_by, short, selection.grids)
      jobs.append(Job((name, "select"), (), _call(select, *args, **recipe)))

      def retrain_call(done, name=name):
        args = (name, train, test, seeds, plan, done[name, "select"], selection.grids)
        return retrain, args, dict(recipe)

      jobs.append(Job((name, "best"), ((name, "select"),), retrain_call))
    jobs.append(Job((name, "paper"), (), _call(paper_recipe, name, train, test, seeds, plan)))
  return jobs


def run(
  workdir: str,
  *,
  models: Sequence[str] = tuple(MODELS),
  seeds: Sequence[int] = (0, 1, 2),
  epochs: int = 150,
  eval_every: int = 10,
  val_size: int = 1000,
  grids: Mapping[str, Sequence[float]] = BEST_GRIDS,
  weight_decay: float = 1e-3,
  warmup_epochs: int = 5,
  select_epochs: int = 50,
  select_seeds: int = 1,
  scan: bool = True,
  best: bool = True,
  workers: int = 0,
) -> dict[str, Any]:
  """Trains the table's rows, writes the PNGs and ``results.json``, returns the numbers.

  The table's sweeps (per row: the paper recipe, one selection sweep per optimizer, the
  retrain) are independent programs but for the retrain, which waits for its row's
  selection. :func:`schedule` runs them ``workers`` at a time in worker processes, the
  longest rows first. The results do not depend on ``workers``.

  Args:
    workdir: output directory (created if needed).
    models: rows of the table (``logistic``, ``mlp``, ``cnn``).
    seeds: seeds trained together per row.
    epochs: epochs per run (150 x 40 batches of 100 = the paper's 6000 steps).
    eval_every: epochs between the test-accuracy points of the curves (divides ``epochs``).
    val_size: validation examples carved from the training set for the "best" row.
    grids: learning rates tried per optimizer for the "best" row.
    weight_decay: L2 weight decay of the "best" row.
    warmup_epochs: epochs of linear warmup of η in the "best" row (without it, momentum at
      η = 0.3, the CNN's choice, lost one seed of three in its first epochs).
    select_epochs: epochs each candidate of the "best" row's selection trains, with its own
      warmup and cosine over them (0, or more than ``epochs``: ``epochs``); the chosen one
      retrains for ``epochs``.
      With one seed, 50 and 75 chose what 150 chose for the MLP and the CNN (logistic
      regression's candidates lie within 0.2 points of each other); 30 chose worse for the
      MLP (70.5 % instead of 75.8 %; ``benchmarks/RESULTS.md``).
    select_seeds: how many of ``seeds`` (the first ones) every candidate of the selection
      trains with; it wins on their mean validation accuracy. Three (all 150 epochs) made the
      CNN choose Adam at η = 0.03 (95.2 % ± 0.1 %), because one of the three seeds at
      momentum η = 0.3 diverged; one (the default, a third of the work) chooses momentum at
      η = 0.3 (95.2 % ± 0.9 %), and the same as three for the two other models.
    scan: scan each epoch (True) or loop over compiled steps (False).
    best: also search and train the "best with jaxnets" row (--nobest: the paper's recipe
      only).
    workers: sweeps trained at the same time, each in a worker process pinned to a core (0,
      the default: one per core on CPU, at most 8; 1 elsewhere: one process per accelerator;
      1 trains them in this process, one after another).
  """
  unknown = [m for m in models if m not in MODELS]
  if unknown or not models:
    raise ValueError(f"Unknown models {unknown}; valid: {list(MODELS)}.")
  if epochs <= 0 or eval_every <= 0 or epochs % eval_every:
    raise ValueError(
      f"epochs ({epochs}) and eval_every ({eval_every}) must be positive and "
      f"eval_every must divide epochs."
    )
  if not seeds or not grids or any(not rates for rates in grids.values()):
    raise ValueError("seeds and every grid must be non-empty.")
  if workers < 0:
    raise ValueError(f"workers must be 0 (one per core) or more, got {workers}.")
  if best and not 1 <= select_seeds <= len(seeds):
    raise ValueError(f"select_seeds must be in [1, {len(seeds)}] (len(seeds)), got {select_seeds}.")
  select_epochs = min(select_epochs or epochs, epochs)
  if best and select_epochs <= warmup_epochs:
    raise ValueError(
      f"select_epochs ({select_epochs}, at most epochs) must be above warmup_epochs "
      f"({warmup_epochs})."
    )
  workers = workers or default_workers()
  os.makedirs(workdir, exist_ok=True)
  start = time.perf_counter()
  recipe = dict(weight_decay=weight_decay, warmup_epochs=warmup_epochs)
  plan = Plan(epochs, eval_every, scan)
  selection = Selection(grids, val_size, select_epochs, select_seeds) if best else None
  pool = start_workers(workers)  # They start while the data is generated.
  try:
    train, test = data.load("mnist1d", "train"), data.load("mnist1d", "test")
    jobs = table_jobs(models, seeds, train, test, plan, selection, recipe)
    done = schedule(jobs, pool, workers)
  finally:
    if pool is not None:
      pool.shutdown(cancel_futures=True)  # After an error: nothing queued starts.
  results: dict[str, Any] = {
    "epochs": epochs,
    "seeds": list(seeds),
    "weight_decay": weight_decay,
    "warmup_epochs": warmup_epochs,
    "select_epochs": select_epochs,
    "select_seeds": select_seeds,
    "scan": scan,
    "workers": workers,
    "models": {},
  }
  for name in models:
    paper, seconds = done[name, "paper"]
    searched = None
    if best:
      searched, retrain_seconds = done[name, "best"]
      searched["selection_seconds"] = done[name, "select"][1]
      seconds += searched["selection_seconds"] + retrain_seconds
    results["models"][name] = {
      "published": PUBLISHED[name],
      "target": TARGETS[name],
      "paper": paper,
      "best": searched,
      "seconds": seconds,
    }
  results["wall_time_s"] = time.perf_counter() - start
  results["plots"] = _plot(workdir, results)
  common.write_json(workdir, results, indent=None)
  return results


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[Any], tuple]:
  """A :class:`Job` call that needs no earlier results."""
  return lambda done: (fn, args, kwargs)


if __name__ == "__main__":
  common.run_as_program(run, format_table, workdir="runs/mnist1d_table")
