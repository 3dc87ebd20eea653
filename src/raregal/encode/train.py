"""Training a bottlenecked encoder + Dirichlet GZ DESI head on volunteer vote counts.

The loss is Zoobot's: for each question, the negative log-likelihood of the observed votes under a
Dirichlet-multinomial with the predicted concentrations, summed over the questions (a question
with no votes adds nothing). A seeded share of the catalog is held out; training stops when the
held-out loss has not improved for ``patience`` epochs, and the best epoch is kept. After every
epoch the training state is saved (safetensors + JSON) so that a killed run resumes.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.constants import FILE_COLUMN, ID_COLUMN
from raregal.encode.images import ImageError, Preprocessing, load_image
from raregal.encode.models import (
    ModelConfig,
    build_model,
    configure_threads,
    load_model,
    save_checkpoint,
)
from raregal.errors import InputError
from raregal.io.atomic import atomic_path
from raregal.io.tables import read_table, require_columns, resolve_file_locs, write_table
from raregal.schema import (
    ANSWER_COLUMNS,
    QUESTION_OF_ANSWER,
    QUESTIONS,
    fractions_from_counts,
    question_slices,
)

logger = logging.getLogger(__name__)

STATE_FOLDER = "train_state"
PRELOAD_LIMIT_BYTES = 2 * 1024**3
PINNED_LIMIT = 0.9
"""An answer at the minimum concentration for this share of the held-out galaxies whose
volunteers chose it most often is reported as pinned: its gradient has vanished where it matters,
and training no longer moves it (see ``TrainConfig.reset_questions``)."""
PINNED_MIN_GALAXIES = 5
"""Held-out galaxies that must have chosen an answer most often before it is judged."""


@dataclass
class TrainConfig:
    """Parameters of ``train``.

    Parameters
    ----------
    arch : str, default="efficientnet_b0"
        timm architecture.
    bottleneck : int, default=128
        Size of the representation.
    image_size : int, default=224
        Input side in pixels.
    init : str, default=None
        Finetune from this encoder (anything ``load_model`` accepts whose backbone matches
        ``arch``); None trains from scratch.
    init_head : bool, default=True
        Also take the Dirichlet head from ``init``; False starts the head afresh.
    head_norm : bool, default=False
        Layer-normalise the representation in the head (see ``DirichletHead``).
    reset_questions : tuple of str, default=()
        GZ DESI questions whose answers start afresh in the head after ``init`` (zero weights
        and bias: mid concentration, full gradient). This revives answers that an earlier
        training left pinned at the minimum concentration even where the volunteers chose them,
        where the gradient has vanished and no further training moves them; each epoch's record
        lists such answers under ``pinned_answers``.
    epochs : int, default=20
        Most epochs.
    batch_size : int, default=64
        Images per step.
    lr : float, default=1e-3
        AdamW learning rate (cosine decay over ``epochs``).
    weight_decay : float, default=0.05
        AdamW weight decay.
    val_fraction : float, default=0.1
        Share of the galaxies held out for validation and early stopping.
    patience : int, default=3
        Epochs without a better validation loss before stopping.
    consistency_weight : float, default=0.0
        Weight of a self-supervised augmentation-invariance term on the representation (two
        flips/rotations of each image should agree), with a variance floor against collapse; it
        never uses labels beyond the vote counts.
    covariance_weight : float, default=0.0
        Weight of VICReg's covariance term inside the consistency term: it decorrelates the
        representation's dimensions, so that visual differences the votes do not ask about
        (kinds of artifact, say) keep dimensions of their own. Needs ``consistency_weight > 0``.
    num_workers : int, default=None
        Image-decoding worker processes.
    seed : int, default=0
        Seed of the split, the initialisation and the batch order.
    device : str, default=None
        ``"cuda"`` when available, else ``"cpu"``.
    timm_kwargs : dict, default={}
        Extra ``timm.create_model`` arguments.
    """

    arch: str = "efficientnet_b0"
    bottleneck: int = 128
    image_size: int = 224
    init: str | None = None
    init_head: bool = True
    head_norm: bool = False
    reset_questions: tuple[str, ...] = ()
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    val_fraction: float = 0.1
    patience: int = 3
    consistency_weight: float = 0.0
    covariance_weight: float = 0.0
    num_workers: int | None = None
    seed: int = 0
    device: str | None = None
    timm_kwargs: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise InputError naming the first parameter out of range."""
        checks = {
            "bottleneck": self.bottleneck >= 2,
            "image_size": self.image_size >= 16,
            "epochs": self.epochs >= 1,
            "batch_size": self.batch_size >= 2,
            "lr": self.lr > 0,
            "val_fraction": 0 < self.val_fraction < 1,
            "patience": self.patience >= 1,
            "consistency_weight": self.consistency_weight >= 0,
            "covariance_weight": self.covariance_weight >= 0
            and (self.covariance_weight == 0 or self.consistency_weight > 0),
        }
        for name, ok in checks.items():
            if not ok:
                raise InputError(f"{name} is out of range: got {getattr(self, name)!r}")
        unknown = [q for q in self.reset_questions if q not in QUESTIONS]
        if unknown:
            raise InputError(
                f"reset_questions names {len(unknown)} question(s) that GZ DESI does not ask: "
                f"{', '.join(map(repr, unknown))}; the questions are {', '.join(QUESTIONS)}",
                count=len(unknown),
            )


@dataclass
class TrainResult:
    """What ``train`` produced.

    Attributes
    ----------
    path : Path
        The checkpoint folder (best epoch).
    best_epoch : int
        1-based epoch with the lowest validation loss.
    best_val_loss : float
        Mean Dirichlet-multinomial loss per galaxy on the held-out set at the best epoch.
    val_mae : float
        Mean absolute error of the vote fractions on the held-out set at the best epoch.
    epochs_run : int
        Epochs trained in all (including those of an interrupted run).
    history : list of dict
        Per epoch: train_loss, val_loss, val_mae, pinned_answers (see ``pinned_answers``),
        seconds.
    """

    path: Path
    best_epoch: int
    best_val_loss: float
    val_mae: float
    epochs_run: int
    history: list[dict[str, Any]]


# ----------------------------------------------------------------------------- loss


def dirichlet_multinomial_loss(concentrations, counts):
    """Per-galaxy negative log-likelihood of the votes, summed over the questions.

    Parameters
    ----------
    concentrations : Tensor of shape (N, 34)
        Positive Dirichlet concentrations.
    counts : Tensor of shape (N, 34)
        Vote counts (0 where a question was not asked).

    Returns
    -------
    Tensor of shape (N,)
    """
    import torch

    total = torch.zeros(counts.shape[0], device=counts.device, dtype=torch.float32)
    for start, stop in question_slices():
        alpha = concentrations[:, start:stop].float()
        k = counts[:, start:stop].float()
        n, a = k.sum(dim=1), alpha.sum(dim=1)
        log_like = (
            torch.lgamma(n + 1)
            - torch.lgamma(k + 1).sum(dim=1)
            + torch.lgamma(a)
            - torch.lgamma(n + a)
            + (torch.lgamma(k + alpha) - torch.lgamma(alpha)).sum(dim=1)
        )
        total = total - log_like
    return total


def consistency_loss(first, second, covariance_weight: float = 0.0):
    """Augmentation invariance with a variance floor (VICReg's first two terms, unit weights),
    plus VICReg's covariance term (off-diagonal covariance squared, over the dimension) when
    ``covariance_weight > 0``."""
    import torch

    invariance = torch.nn.functional.mse_loss(first, second)
    variance = 0.0
    covariance = 0.0
    for z in (first, second):
        std = torch.sqrt(z.var(dim=0) + 1e-4)
        variance = variance + torch.relu(1.0 - std).mean()
        if covariance_weight > 0:
            centred = z - z.mean(dim=0)
            cov = centred.T @ centred / max(z.shape[0] - 1, 1)
            off_diagonal = cov - torch.diag(torch.diagonal(cov))
            covariance = covariance + off_diagonal.pow(2).sum() / z.shape[1]
    return invariance + variance + covariance_weight * covariance


def fraction_mae(fractions: np.ndarray, counts: np.ndarray) -> float:
    """Mean absolute error of predicted fractions against vote fractions (asked questions only)."""
    observed = fractions_from_counts(counts)
    mask = ~np.isnan(observed)
    return float(np.abs(fractions[mask] - observed[mask]).mean()) if mask.any() else math.nan


# ----------------------------------------------------------------------------- data


def training_table(catalog: str | os.PathLike[str]) -> pd.DataFrame:
    """The catalog with ``id_str``, absolute ``file_loc`` and the 34 vote-count columns.

    Missing counts (NaN) become 0 (the question was not asked); negative counts raise.
    """
    catalog = Path(catalog)
    df = read_table(catalog)
    require_columns(df, [ID_COLUMN, FILE_COLUMN, *ANSWER_COLUMNS], catalog)
    counts = df[ANSWER_COLUMNS].apply(pd.to_numeric, errors="coerce")
    negative = (counts < 0).to_numpy()
    if negative.any():
        column = ANSWER_COLUMNS[int(np.argwhere(negative)[0][1])]
        raise InputError(
            f"{int(negative.sum())} negative vote count(s)",
            path=catalog,
            column=column,
            count=int(negative.sum()),
        )
    out = pd.DataFrame(
        {
            ID_COLUMN: df[ID_COLUMN].astype(str),
            FILE_COLUMN: resolve_file_locs(df, catalog.resolve().parent),
        }
    )
    out[ANSWER_COLUMNS] = counts.fillna(0.0).to_numpy(dtype=np.float32)
    no_votes = out[ANSWER_COLUMNS].sum(axis=1) == 0
    if no_votes.all():
        raise InputError("no galaxy has any votes", path=catalog, count=len(out))
    return out


class _VotesDataset:
    """index -> (index, uint8 image or None, counts, error or None)."""

    def __init__(self, files: list[str], counts: np.ndarray, prep: Preprocessing) -> None:
        self.files, self.counts, self.prep = files, counts, prep

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        try:
            image, error = load_image(self.files[index], self.prep), None
        except ImageError as exc:
            image, error = None, str(exc)
        return index, image, self.counts[index], error


def _collate(items):
    import torch

    good = [it for it in items if it[1] is not None]
    failed = [(it[0], it[3]) for it in items if it[1] is None]
    if not good:
        return None, None, None, failed
    index = torch.tensor([it[0] for it in good])
    images = torch.from_numpy(np.stack([it[1] for it in good]))
    counts = torch.from_numpy(np.stack([it[2] for it in good]))
    return index, images, counts, failed


def _augment(images, generator):
    """Random flips and quarter turns per image (galaxies have no preferred orientation)."""
    import torch

    n = images.shape[0]
    flip = torch.rand(n, generator=generator) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    turns = torch.randint(0, 4, (n,), generator=generator)
    out = images.clone()
    for k in (1, 2, 3):
        chosen = turns == k
        if chosen.any():
            out[chosen] = torch.rot90(images[chosen], k, dims=(-2, -1))
    return out


# ----------------------------------------------------------------------------- train


def train(
    catalog: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: TrainConfig | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train an encoder on a catalog of images and vote counts; write the best checkpoint.

    Parameters
    ----------
    catalog : path-like
        ``id_str``, ``file_loc`` and the GZ DESI vote counts ``{question}_{answer}``.
    out : path-like
        Checkpoint folder (``config.json`` + ``model.safetensors``), loadable with
        ``load_model(out)``. ``out/train_state`` holds the state for resuming.
    config : TrainConfig, default=None
        Training parameters; ``TrainConfig()`` when None.
    progress : bool, default=True
        Progress bar per epoch.

    Returns
    -------
    TrainResult
    """
    import torch

    config = config or TrainConfig()
    config.validate()
    configure_threads()
    out = Path(out)
    table = training_table(catalog)
    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)

    model_config = ModelConfig(
        arch=config.arch,
        bottleneck=config.bottleneck,
        image_size=config.image_size,
        head_norm=config.head_norm,
        timm_kwargs=config.timm_kwargs,
    )
    model = build_model(model_config)
    if config.init is not None:
        _init_from(model, config.init, with_head=config.init_head)
    if config.reset_questions:
        _reset_questions(model, config.reset_questions)
    model = model.to(device).to(memory_format=torch.channels_last)

    prep = Preprocessing(image_size=config.image_size)
    images, counts, failed = _load_images(table, prep, config, progress)
    if failed:
        failures = pd.DataFrame(failed, columns=[ID_COLUMN, FILE_COLUMN, "reason"])
        write_table(failures, out / "failures.parquet")
        logger.warning(
            "%d image(s) could not be read; listed in %s", len(failures), out / "failures.parquet"
        )
    n = len(counts)
    order = np.random.default_rng(config.seed).permutation(n)
    n_val = max(1, round(config.val_fraction * n))
    if n - n_val < 2:
        raise InputError(
            f"too few readable images to train ({n}); need at least 3", path=catalog, count=n
        )
    val_idx, train_idx = np.sort(order[:n_val]), order[n_val:]
    logger.info(
        "training on %d galaxies, validating on %d (%s, %d px, %s)",
        len(train_idx),
        n_val,
        config.arch,
        config.image_size,
        device,
    )

    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    steps_per_epoch = math.ceil(len(train_idx) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=0.1
    )
    state = _TrainState(out / STATE_FOLDER, config)
    start_epoch = state.restore(model, optimizer, scheduler, generator)

    for epoch in range(start_epoch, config.epochs):
        if state.epochs_since_best >= config.patience:
            break
        began = time.perf_counter()
        model.train()
        perm = train_idx[torch.randperm(len(train_idx), generator=generator).numpy()]
        losses = []
        bar = _bar(steps_per_epoch, f"epoch {epoch + 1}/{config.epochs}", progress)
        for step in range(steps_per_epoch):
            idx = perm[step * config.batch_size : (step + 1) * config.batch_size]
            if len(idx) < 2:
                continue
            x = _augment(images[idx], generator).to(device).float().div_(255.0)
            y = counts[idx].to(device)
            loss = _step_loss(model, x, y, config, generator, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
            bar.update(1)
            if not progress and (step + 1) % 50 == 0:
                rate = (step + 1) * config.batch_size / (time.perf_counter() - began)
                logger.info(
                    "epoch %d step %d/%d: loss %.3f (%.0f images/s)",
                    epoch + 1,
                    step + 1,
                    steps_per_epoch,
                    np.mean(losses[-50:]),
                    rate,
                )
        bar.close()
        val_loss, val_mae, pinned = evaluate(model, images[val_idx], counts[val_idx], device)
        record = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(losses)),
            "val_loss": val_loss,
            "val_mae": val_mae,
            "pinned_answers": pinned,
            "seconds": time.perf_counter() - began,
        }
        _warn_pinned(pinned)
        logger.info(
            "epoch %d: train loss %.4f, val loss %.4f, val fraction MAE %.4f (%.0f s)",
            epoch + 1,
            record["train_loss"],
            val_loss,
            val_mae,
            record["seconds"],
        )
        if state.add(record):
            model_config.training = _training_record(config, table, catalog, n, state)
            save_checkpoint(model, model_config, out)
        state.save(model, optimizer, scheduler, generator)

    best = state.best_record()
    model_config.training = _training_record(config, table, catalog, n, state)
    _rewrite_training_record(out, model_config)
    return TrainResult(
        out, best["epoch"], best["val_loss"], best["val_mae"], len(state.history), state.history
    )


def _step_loss(model, x, y, config: TrainConfig, generator, device):
    features, concentrations = model(x)
    loss = dirichlet_multinomial_loss(concentrations, y).mean()
    if config.consistency_weight > 0:
        second, _ = model(_augment(x.cpu(), generator).to(device))
        loss = loss + config.consistency_weight * consistency_loss(
            features, second, config.covariance_weight
        )
    return loss


def evaluate(
    model, images, counts, device: str, batch_size: int = 256
) -> tuple[float, float, list[str]]:
    """Mean Dirichlet-multinomial loss, vote-fraction MAE and pinned answers (``pinned_answers``)
    of ``model`` on uint8 ``images``."""
    import torch

    from raregal.encode.nets import fractions_from_concentrations

    model.eval()
    losses, concentrations = [], []
    with torch.inference_mode():
        for start in range(0, len(counts), batch_size):
            x = images[start : start + batch_size].to(device).float().div_(255.0)
            y = counts[start : start + batch_size].to(device)
            _, batch = model(x.contiguous(memory_format=torch.channels_last))
            losses.append(dirichlet_multinomial_loss(batch, y).cpu())
            concentrations.append(batch.float().cpu())
    concentrations = torch.cat(concentrations)
    fractions = fractions_from_concentrations(concentrations)
    mae = fraction_mae(fractions.numpy(), counts.numpy())
    return float(torch.cat(losses).mean()), mae, pinned_answers(concentrations, counts)


def pinned_answers(concentrations, counts) -> list[str]:
    """Answers at the minimum concentration for at least ``PINNED_LIMIT`` of the galaxies whose
    volunteers chose them most often (judged where ``PINNED_MIN_GALAXIES`` such galaxies exist).

    A rare answer that works leaves the floor where it was chosen; a pinned one does not, and its
    gradient has vanished there (the scaled sigmoid is saturated), so training cannot revive it.

    Parameters
    ----------
    concentrations : Tensor of shape (N, 34)
        Predicted Dirichlet concentrations.
    counts : Tensor of shape (N, 34)
        Vote counts.

    Returns
    -------
    list of str
        Answer columns, in ``ANSWER_COLUMNS`` order.
    """
    from raregal.encode.nets import at_floor

    floor = at_floor(concentrations).numpy()
    votes = counts.numpy()
    pinned = []
    for start, stop in question_slices():
        block = votes[:, start:stop]
        asked = block.sum(axis=1) > 0
        chosen = block.argmax(axis=1)
        for offset in range(stop - start):
            members = asked & (chosen == offset)
            if members.sum() < PINNED_MIN_GALAXIES:
                continue
            if floor[members, start + offset].mean() >= PINNED_LIMIT:
                pinned.append(ANSWER_COLUMNS[start + offset])
    return pinned


def _reset_questions(model, questions: tuple[str, ...]) -> None:
    answers = [i for i, c in enumerate(ANSWER_COLUMNS) if QUESTION_OF_ANSWER[c] in questions]
    model.head.reset_answers(answers)
    logger.info("the head's %d answers of %s start afresh", len(answers), ", ".join(questions))


def _warn_pinned(pinned: list[str]) -> None:
    if not pinned:
        return
    questions = sorted({QUESTION_OF_ANSWER[c] for c in pinned})
    logger.warning(
        "%d answer(s) sit at the minimum concentration for at least %.0f %% of the held-out "
        "galaxies whose volunteers chose them, where training no longer moves them: %s; train "
        "again from this model with reset_questions=%s (raregal train --reset-question ...)",
        len(pinned),
        100 * PINNED_LIMIT,
        ", ".join(pinned),
        questions,
    )


def _init_from(model, name_or_path: str, with_head: bool = True) -> None:
    source = load_model(name_or_path, device="cpu")
    pretrained = getattr(source, "model", None)
    if pretrained is None:
        raise InputError(f"cannot finetune from {name_or_path!r}: it is not a torch encoder")
    state = pretrained.state_dict()
    if not any(k.startswith("encoder.") for k in state):
        state = {f"encoder.{k}": v for k, v in state.items()}
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not with_head:
        usable = {k: v for k, v in usable.items() if not k.startswith("head.")}
    if not usable:
        raise InputError(
            f"no weights of {name_or_path!r} fit the {type(model.encoder).__name__} being trained; "
            "pass the matching --arch"
        )
    model.load_state_dict(usable, strict=False)
    logger.info(
        "finetuning from %s: %d of %d tensors initialised", name_or_path, len(usable), len(own)
    )


def _load_images(table: pd.DataFrame, prep: Preprocessing, config: TrainConfig, progress: bool):
    """Decode every image once into a uint8 tensor (the training set must fit in memory)."""
    import torch
    from torch.utils.data import DataLoader

    from raregal.encode.embed import default_workers

    need = len(table) * prep.channels * prep.image_size**2
    if need > PRELOAD_LIMIT_BYTES:
        raise InputError(
            f"{len(table)} images at {prep.image_size} px need {need / 1024**3:.1f} GiB in "
            f"memory; the limit is {PRELOAD_LIMIT_BYTES / 1024**3:.0f} GiB (use fewer images or "
            "a smaller --image-size)",
            count=len(table),
        )
    files = table[FILE_COLUMN].tolist()
    counts_all = table[ANSWER_COLUMNS].to_numpy(dtype=np.float32)
    workers = default_workers() if config.num_workers is None else config.num_workers
    loader = DataLoader(
        _VotesDataset(files, counts_all, prep),
        batch_size=256,
        num_workers=workers,
        collate_fn=_collate,
    )
    images, counts, failed = [], [], []
    bar = _bar(len(files), "decode", progress, unit="img")
    for index, batch, votes, bad in loader:
        if batch is not None:
            images.append(batch)
            counts.append(votes)
        failed += [(table[ID_COLUMN].iat[i], files[i], reason) for i, reason in bad]
        bar.update((0 if index is None else len(index)) + len(bad))
    bar.close()
    if not images:
        raise InputError("none of the images could be read", count=len(files))
    return torch.cat(images), torch.cat(counts), failed


def _bar(total: int, desc: str, enabled: bool, unit: str = "step"):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, dynamic_ncols=True)


def _training_record(config, table, catalog, n, state) -> dict[str, Any]:
    best = state.best_record() if state.history else {}
    return {
        "catalog": str(catalog),
        "n_galaxies": len(table),
        "n_readable": int(n),
        "config": asdict(config),
        "best_epoch": best.get("epoch"),
        "best_val_loss": best.get("val_loss"),
        "val_mae": best.get("val_mae"),
        "history": state.history,
    }


def _rewrite_training_record(out: Path, model_config: ModelConfig) -> None:
    config_path = out / "config.json"
    if not config_path.exists():
        return
    payload = json.loads(config_path.read_text())
    payload["raregal"]["training"] = model_config.training
    with atomic_path(config_path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, default=str))


class _TrainState:
    """History and weights after each epoch, in ``folder`` (safetensors + JSON, never pickle)."""

    def __init__(self, folder: Path, config: TrainConfig) -> None:
        self.folder = folder
        self.key = json.dumps(asdict(config), sort_keys=True, default=str)
        self.history: list[dict[str, Any]] = []
        self.epochs_since_best = 0

    def add(self, record: dict[str, float]) -> bool:
        """Append an epoch; True when it is the best so far."""
        best = min((r["val_loss"] for r in self.history), default=math.inf)
        self.history.append(record)
        improved = record["val_loss"] < best
        self.epochs_since_best = 0 if improved else self.epochs_since_best + 1
        return improved

    def best_record(self) -> dict[str, float]:
        return min(self.history, key=lambda r: r["val_loss"])

    def save(self, model, optimizer, scheduler, generator) -> None:
        from safetensors.torch import save_file

        self.folder.mkdir(parents=True, exist_ok=True)
        tensors = {
            f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()
        }
        opt = optimizer.state_dict()
        for pid, slots in opt["state"].items():
            for name, value in slots.items():
                tensors[f"optim.{pid}.{name}"] = value.detach().cpu().contiguous()
        tensors["generator"] = generator.get_state()
        with atomic_path(self.folder / "state.safetensors") as tmp:
            save_file(tensors, str(tmp))
        meta = {
            "key": self.key,
            "history": self.history,
            "epochs_since_best": self.epochs_since_best,
            "param_groups": opt["param_groups"],
            "scheduler": scheduler.state_dict(),
        }
        with atomic_path(self.folder / "state.json") as tmp:
            tmp.write_text(json.dumps(meta, default=str))

    def restore(self, model, optimizer, scheduler, generator) -> int:
        """Load a saved state with the same config; return the next epoch (0 when none)."""
        meta_path = self.folder / "state.json"
        if not meta_path.exists():
            return 0
        meta = json.loads(meta_path.read_text())
        if meta["key"] != self.key:
            raise InputError(
                "holds the state of a training run with other parameters; remove it to start again",
                path=self.folder,
            )
        from safetensors.torch import load_file

        tensors = load_file(str(self.folder / "state.safetensors"))
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        slots: dict[int, dict[str, Any]] = {}
        for k, v in tensors.items():
            if k.startswith("optim."):
                _, pid, name = k.split(".", 2)
                slots.setdefault(int(pid), {})[name] = v
        optimizer.load_state_dict({"state": slots, "param_groups": meta["param_groups"]})
        scheduler.load_state_dict(meta["scheduler"])
        generator.set_state(tensors["generator"])
        self.history = meta["history"]
        self.epochs_since_best = meta["epochs_since_best"]
        logger.info("resuming training after epoch %d from %s", len(self.history), self.folder)
        return len(self.history)
