"""demokit.trainer: --resume equals an uninterrupted run bit for bit (after whole epochs, mid-epoch, after the time
budget; with the scheduler and early-stopping counters), nothing non-finite is ever saved, the loss-growth warning
comes once, a seed repeats a run, Ctrl-C saves last.npz, and checkpoints are validated before they are used."""

from __future__ import annotations

import math
import os
import signal

import numpy as np
import pytest
from testkit import assert_same

import minigrad
from demokit.checkpoints import load_checkpoint, save_checkpoint
from demokit.errors import Diverged, Interrupted
from demokit.runs import RunFolder
from demokit.step import eval_mode
from demokit.trainer import FitSettings, Trainer, epoch_rng, shuffled_batches
from minigrad import nn, optim
from minigrad.checkpoint import CheckpointError

KIND = "toy"
REQUIRED = {"config": dict, "model": dict, "optim": dict, "progress.epoch": int, "vocab": list}
N_TRAIN, BATCH = 48, 12  # 4 steps per epoch

_data = np.random.default_rng(123)  # the data is fixed; only its order depends on the seed
X = _data.normal(size=(N_TRAIN, 4)).astype(np.float32)
Y = (X @ _data.normal(size=(4, 1)) + 0.1 * _data.normal(size=(N_TRAIN, 1))).astype(np.float32)
VX = _data.normal(size=(16, 4)).astype(np.float32)
VY = (VX @ np.ones((4, 1)) * 0.5).astype(np.float32)


class Net(nn.Module):
    """Linear -> tanh -> dropout -> Linear: dropout makes the RNG state part of what --resume must restore."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(4, 8)
        self.drop = nn.Dropout(0.25)
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        return self.out(self.drop(self.inp(x).tanh()))


def make(out, epochs, *, resume=False, seed=0, init_seed=None, scheduler=False, patience=0, clip=1.0,
         max_minutes=0.0, sgd_lr=None):
    """A Trainer as a command builds it; with resume=True, restored from out/last.npz like `--resume`.

    init_seed: the seed of the initial weights (a resumed trainer starts from other weights on purpose, so any
    state that restore() forgets shows up as a difference).
    """
    minigrad.manual_seed(seed if init_seed is None else init_seed)
    model = Net()
    opt = optim.SGD(model.parameters(), lr=sgd_lr) if sgd_lr else optim.Adam(model.parameters(), lr=0.02)
    sched = optim.WarmupDecay(opt, warmup_steps=3, total_steps=30) if scheduler else None
    run = RunFolder(out, resume=resume).open()
    settings = FitSettings(epochs=epochs, clip=clip, patience=patience, max_minutes=max_minutes, progress=False)
    trainer = Trainer(model, opt, run, settings, kind=KIND, config={"hidden": 8}, scheduler=sched,
                      extra={"vocab": ["a", "b"]})
    if resume:
        state = load_checkpoint(run / "last.npz", KIND, required=REQUIRED)
        trainer.restore(state, run / "last.npz")
    return trainer


def mse(model, x, y):
    return ((model(minigrad.tensor(x)) - minigrad.tensor(y)) ** 2).mean()


def fit(trainer, seed=0, stop_at=None, val=None, batch_size=BATCH, on_step=None, on_epoch_start=None):
    """trainer.fit on the toy data. stop_at: set the stop flag (what Ctrl-C does) during that step (1-based).
    val: {epoch index: figure} scripts the validation loss; otherwise the real validation MSE."""

    def batches(epoch):
        return [(X[i], Y[i]) for i in shuffled_batches(N_TRAIN, batch_size, seed, epoch)]

    def loss(batch):
        step = trainer.progress.step + 1
        if step == stop_at:
            trainer._stop = True
        if on_step is not None:
            return on_step(step, batch)
        return mse(trainer.model, *batch)

    def validate():
        if val is not None:
            return {"val_loss": val[trainer.progress.epoch]}
        with eval_mode(trainer.model):
            return {"val_loss": float(mse(trainer.model, VX, VY).item())}

    return trainer.fit(batches, loss, validate, size=lambda b: len(b[0]), on_epoch_start=on_epoch_start)


def straight(tmp_path, epochs=4, **kw):
    """The uninterrupted reference run."""
    trainer = make(tmp_path / "straight", epochs, **kw)
    fit(trainer)
    return trainer


def assert_resumed_equals(resumed, reference):
    assert_same(resumed.state(), reference.state())  # weights, optimizer, schedule, RNG, history, step losses
    on_disk = load_checkpoint(resumed.run / "last.npz", KIND, required=REQUIRED)
    assert_same(on_disk, load_checkpoint(reference.run / "last.npz", KIND, required=REQUIRED))


# ---- resume == uninterrupted ----------------------------------------------------------------------------
@pytest.mark.parametrize("scheduler", [False, True])
def test_resume_after_whole_epochs_equals_an_uninterrupted_run(tmp_path, scheduler):
    reference = straight(tmp_path, scheduler=scheduler)
    assert fit(make(tmp_path / "b", 2, scheduler=scheduler)) == "finished 2 epochs"
    resumed = make(tmp_path / "b", 4, resume=True, init_seed=999, scheduler=scheduler)
    assert resumed.progress.epoch == 2
    assert fit(resumed) == "finished 4 epochs"
    assert len(resumed.progress.history) == 4 and len(resumed.progress.step_losses) == 16
    assert_resumed_equals(resumed, reference)


def test_a_fresh_trainer_from_other_weights_differs(tmp_path):
    """The test above can fail: without restore() the same fit ends elsewhere."""
    reference = straight(tmp_path)
    other = make(tmp_path / "b", 4, init_seed=999)
    fit(other)
    assert not np.array_equal(other.model.out.weight.data, reference.model.out.weight.data)


@pytest.mark.parametrize("stop_at", [1, 2, 4, 6, 16])  # first step, inside epoch 1, its last step, epoch 2, the end
def test_resume_after_an_interruption_mid_epoch_equals_an_uninterrupted_run(tmp_path, stop_at):
    reference = straight(tmp_path, scheduler=True)
    interrupted = make(tmp_path / "b", 4, scheduler=True)
    with pytest.raises(Interrupted, match=r"--resume --out .*b") as e:
        fit(interrupted, stop_at=stop_at)
    assert "\n" not in str(e.value)
    saved = load_checkpoint(tmp_path / "b" / "last.npz", KIND, required=REQUIRED)
    assert saved["progress"]["step"] == stop_at  # the step that was running finished, then it stopped
    assert saved["progress"]["batch"] == (stop_at - 1) % 4 + 1
    resumed = make(tmp_path / "b", 4, resume=True, init_seed=999, scheduler=True)
    assert fit(resumed) == "finished 4 epochs"
    assert_resumed_equals(resumed, reference)


def test_on_epoch_start_runs_once_per_epoch_also_across_a_mid_epoch_resume(tmp_path):
    """It resets per-epoch state (a stateful model's carried state): not again when an epoch is continued."""
    calls = []
    with pytest.raises(Interrupted):
        fit(make(tmp_path / "b", 3), stop_at=6, on_epoch_start=calls.append)
    fit(make(tmp_path / "b", 3, resume=True), on_epoch_start=calls.append)
    assert calls == [0, 1, 2]


def test_the_scheduler_state_survives_resume(tmp_path):
    """WarmupDecay's position is restored: the learning rates per epoch are those of the uninterrupted run (and
    they do change, so a scheduler restarted from step 0 would differ)."""
    reference = straight(tmp_path, scheduler=True)
    fit(make(tmp_path / "b", 1, scheduler=True))
    resumed = make(tmp_path / "b", 4, resume=True, init_seed=999, scheduler=True)
    assert resumed.scheduler.last_epoch == 4 and resumed.optimizer.param_groups[0]["lr"] == pytest.approx(
        reference_lr_after(4))
    fit(resumed)
    lrs = [e["lr"] for e in resumed.progress.history]
    assert lrs == [e["lr"] for e in reference.progress.history] and len(set(lrs)) == 4
    assert_same(resumed.scheduler.state_dict(), reference.scheduler.state_dict())


def reference_lr_after(steps):
    """WarmupDecay(warmup 3, total 30, cosine) at step `steps` with base lr 0.02, by its formula."""
    q = (steps - 3) / (30 - 3)
    return 0.02 * 0.5 * (1 + math.cos(math.pi * q))


def test_the_time_budget_stops_saves_last_npz_and_resumes_exactly(tmp_path):
    reference = straight(tmp_path)
    budget = make(tmp_path / "b", 4, max_minutes=1e-9)
    reason = fit(budget)
    assert reason.startswith("time budget") and "--max-minutes" in reason
    saved = load_checkpoint(tmp_path / "b" / "last.npz", KIND, required=REQUIRED)
    assert (saved["progress"]["epoch"], saved["progress"]["batch"], saved["progress"]["step"]) == (0, 1, 1)
    assert not (tmp_path / "b" / "best.npz").exists()  # nothing was validated yet
    resumed = make(tmp_path / "b", 4, resume=True, init_seed=999)
    fit(resumed)
    assert_resumed_equals(resumed, reference)


# ---- early stopping -------------------------------------------------------------------------------------
VAL = {0: 1.0, 1: 0.9, 2: 0.95, 3: 0.96, 4: 0.5, 5: 0.4, 6: 0.3, 7: 0.2}  # stalls after epoch 2, then improves


def test_early_stopping_counters_survive_resume(tmp_path):
    reference = make(tmp_path / "a", 8, patience=2)
    assert fit(reference, val=VAL).startswith("early stopping")
    assert len(reference.progress.history) == 4  # epochs 3 and 4 were not better than epoch 2

    fit(make(tmp_path / "b", 3, patience=2), val=VAL)  # ends with one bad epoch
    resumed = make(tmp_path / "b", 8, resume=True, init_seed=999, patience=2)
    assert (resumed.progress.best, resumed.progress.bad_epochs) == (0.9, 1)
    assert fit(resumed, val=VAL).startswith("early stopping")
    assert len(resumed.progress.history) == 4  # a reset counter would have run on to epoch 8
    assert_resumed_equals(resumed, reference)
    best = load_checkpoint(tmp_path / "b" / "best.npz", KIND, required=REQUIRED)
    assert best["progress"]["epoch"] == 2 and best["progress"]["best"] == 0.9


def test_mode_max_keeps_the_highest_figure(tmp_path):
    trainer = make(tmp_path / "a", 6, patience=2)
    trainer.settings.monitor, trainer.settings.mode = "val_loss", "max"  # read as "accuracy": higher is better
    assert fit(trainer, val={0: 0.5, 1: 0.8, 2: 0.7, 3: 0.6, 4: 0.9, 5: 1.0}).startswith("early stopping")
    assert len(trainer.progress.history) == 4 and trainer.progress.best == 0.8
    assert load_checkpoint(tmp_path / "a" / "best.npz", KIND)["progress"]["epoch"] == 2


def test_best_npz_holds_the_weights_of_the_best_epoch(tmp_path):
    snapshots = {}
    trainer = make(tmp_path / "a", 3)

    def remember(epoch):
        snapshots[epoch] = {k: v.copy() for k, v in trainer.model.state_dict().items()}

    fit(trainer, val={0: 1.0, 1: 0.5, 2: 0.7}, on_epoch_start=remember)
    best = load_checkpoint(tmp_path / "a" / "best.npz", KIND, required=REQUIRED)
    assert_same(best["model"], snapshots[2])  # the weights at the end of epoch 2 (= the start of epoch 3)
    last = load_checkpoint(tmp_path / "a" / "last.npz", KIND, required=REQUIRED)
    assert_same(last["model"], {k: v.copy() for k, v in trainer.model.state_dict().items()})
    assert last["vocab"] == ["a", "b"] and last["config"] == {"hidden": 8}  # the extra entries travel along


# ---- nothing non-finite on disk -------------------------------------------------------------------------
def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_nan_validation_figure_raises_diverged_and_leaves_the_files_on_disk(tmp_path):
    trainer = make(tmp_path / "a", 3)
    before = {}

    def snapshot(epoch):
        if epoch == 2:
            before.update(_files(tmp_path / "a"))

    with pytest.raises(Diverged, match=r"^epoch 3, step 12: val_loss is nan"):
        fit(trainer, val={0: 1.0, 1: 0.9, 2: math.nan}, on_epoch_start=snapshot)
    assert {"best.npz", "last.npz"} <= set(before)
    assert _files(tmp_path / "a") == before  # same files, same bytes, no temp files


def test_a_nan_training_loss_raises_diverged_naming_epoch_and_step_and_leaves_the_files(tmp_path):
    trainer = make(tmp_path / "a", 3)
    before = {}

    def blow_up(step, batch):
        if step == 6:
            before.update(_files(tmp_path / "a"))
            return mse(trainer.model, *batch) * math.nan
        return mse(trainer.model, *batch)

    with pytest.raises(Diverged, match=r"^epoch 2, step 6: the training loss is nan"):
        fit(trainer, on_step=blow_up)
    assert _files(tmp_path / "a") == before


def test_weights_that_became_infinite_are_never_saved(tmp_path):
    """An update that overflows (SGD lr 1e39 in float32) leaves a finite loss and gradient behind, but inf weights:
    the end-of-epoch save refuses and last.npz stays the previous epoch's."""
    trainer = make(tmp_path / "a", 3, sgd_lr=1e-3, clip=0.0)
    before = {}

    def huge_lr(epoch):
        if epoch == 1:
            before.update(_files(tmp_path / "a"))
            trainer.optimizer.param_groups[0]["lr"] = 1e39

    with pytest.raises(Diverged, match=r"not saving .*last\.npz: parameter \S+ .*is not finite"):
        trainer.fit(lambda epoch: [(X, Y)], lambda b: mse(trainer.model, *b), None, on_epoch_start=huge_lr)
    assert not np.isfinite(trainer.model.inp.weight.data).all()
    assert "last.npz" in before and _files(tmp_path / "a") == before


def test_save_checkpoint_refuses_nonfinite_weights_and_keeps_the_old_file(tmp_path):
    model = Net()
    path = tmp_path / "last.npz"
    save_checkpoint(path, {"kind": KIND, "model": model.state_dict()}, model)
    old = path.read_bytes()
    model.out.bias.data[0] = np.inf
    with pytest.raises(Diverged, match=r"out\.bias"):
        save_checkpoint(path, {"kind": KIND, "model": model.state_dict()}, model)
    assert path.read_bytes() == old and [p.name for p in tmp_path.iterdir()] == ["last.npz"]
    with pytest.raises(Diverged):
        save_checkpoint(tmp_path / "new.npz", {"kind": KIND, "model": model.state_dict()}, model)
    assert not (tmp_path / "new.npz").exists()


# ---- the loss-growth warning ----------------------------------------------------------------------------
def _scripted(trainer, losses):
    """A loss with the given values (and zero gradients), one per step."""
    return lambda step, batch: (trainer.model(minigrad.tensor(batch[0])) * 0.0).sum() + losses[step - 1]


def test_the_loss_growth_warning_is_printed_once(tmp_path, capsys):
    trainer = make(tmp_path / "a", 2)
    fit(trainer, on_step=_scripted(trainer, [1.0, 50.0, 150.0, 1000.0, 2.0, 5000.0, 3.0, 1e4]))
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert "epoch 1, step 3: the training loss grew from 1 to 150" in err and "--lr" in err

    resumed = make(tmp_path / "a", 3, resume=True)  # once per run, also across --resume
    fit(resumed, on_step=_scripted(resumed, [1.0] * 8 + [500.0] * 4))
    assert "warning:" not in capsys.readouterr().err


def test_no_warning_below_a_hundredfold_growth(tmp_path, capsys):
    trainer = make(tmp_path / "a", 1)
    fit(trainer, on_step=_scripted(trainer, [1.0, 99.0, 50.0, 99.9]))
    assert "warning" not in capsys.readouterr().err


# ---- seeds ----------------------------------------------------------------------------------------------
def test_two_runs_with_the_same_seed_are_identical_and_another_seed_differs(tmp_path):
    a = make(tmp_path / "a", 3, seed=5)
    fit(a, seed=5)
    b = make(tmp_path / "b", 3, seed=5)
    fit(b, seed=5)
    assert_same(a.state(), b.state())
    c = make(tmp_path / "c", 3, seed=6)
    fit(c, seed=6)
    assert [e["train_loss"] for e in c.progress.history] != [e["train_loss"] for e in a.progress.history]


def test_the_data_order_depends_on_seed_and_epoch_only():
    a = shuffled_batches(10, 4, seed=3, epoch=2)
    np.random.default_rng().random(5)  # other random draws in between change nothing
    minigrad.manual_seed(77)
    b = shuffled_batches(10, 4, seed=3, epoch=2)
    assert [x.tolist() for x in a] == [x.tolist() for x in b] and [len(x) for x in a] == [4, 4, 2]
    assert sorted(np.concatenate(a).tolist()) == list(range(10))
    assert not np.array_equal(np.concatenate(a), np.concatenate(shuffled_batches(10, 4, seed=3, epoch=3)))
    assert epoch_rng(1, 0).random() == epoch_rng(1, 0).random() != epoch_rng(1, 1).random()


# ---- Ctrl-C ---------------------------------------------------------------------------------------------
def test_ctrl_c_stops_after_the_step_and_saves_last_npz(tmp_path, capsys):
    previous = signal.getsignal(signal.SIGINT)
    trainer = make(tmp_path / "a", 4)

    def press(step, batch):
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return mse(trainer.model, *batch)

    with pytest.raises(Interrupted):
        fit(trainer, on_step=press)
    assert "Ctrl-C: saving after this step" in capsys.readouterr().err
    assert load_checkpoint(tmp_path / "a" / "last.npz", KIND)["progress"]["step"] == 3
    assert signal.getsignal(signal.SIGINT) is previous


def test_a_second_ctrl_c_stops_at_once(tmp_path):
    previous = signal.getsignal(signal.SIGINT)
    trainer = make(tmp_path / "a", 4)

    def press_twice(step, batch):
        if step == 6:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return mse(trainer.model, *batch)

    with pytest.raises(KeyboardInterrupt) as e:
        fit(trainer, on_step=press_twice)
    assert not isinstance(e.value, Interrupted)
    assert load_checkpoint(tmp_path / "a" / "last.npz", KIND)["progress"]["step"] == 4  # the last finished epoch
    assert signal.getsignal(signal.SIGINT) is previous


# ---- checkpoints are validated before use ---------------------------------------------------------------
def test_load_checkpoint_names_the_missing_or_mistyped_entry_and_the_file(tmp_path):
    fit(make(tmp_path / "a", 1))
    path = tmp_path / "a" / "last.npz"
    with pytest.raises(CheckpointError, match=r"last\.npz: not a seq2seq checkpoint \(its kind is 'toy'\)"):
        load_checkpoint(path, "seq2seq")
    with pytest.raises(CheckpointError, match=r"last\.npz: the entry 'progress\.nothing' is missing"):
        load_checkpoint(path, KIND, required={"progress.nothing": int})
    with pytest.raises(CheckpointError, match=r"last\.npz: the entry 'vocab' should be dict, not list"):
        load_checkpoint(path, KIND, required={"vocab": dict})
    with pytest.raises(CheckpointError, match=r"the entry 'kind\.x' is missing"):
        load_checkpoint(path, KIND, required={"kind.x": int})


def test_restoring_into_another_model_is_one_line_naming_the_entry(tmp_path):
    fit(make(tmp_path / "a", 1))
    state = load_checkpoint(tmp_path / "a" / "last.npz", KIND, required=REQUIRED)
    model = nn.Linear(4, 1)
    trainer = Trainer(model, optim.Adam(model.parameters()), RunFolder(tmp_path / "b").open(), FitSettings(1),
                      kind=KIND, config={})
    with pytest.raises(CheckpointError, match=r"last\.npz: the entry 'model' does not fit") as e:
        trainer.restore(state, tmp_path / "a" / "last.npz")
    assert "\n" not in str(e.value)
