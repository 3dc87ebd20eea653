"""How the bundled demo encoder (``raregal.encode/weights/demo``) is made, reproducibly.

1. Simulate a training survey with ``raregal.simulate`` (seed 1; the demo itself uses seed 0) with
   each survey preset drawn per galaxy (``--preset mixed``: DECaLS-like and SDSS-like cutouts) and
   the rare classes and artifact types planted more often than in the demo, so that the encoder
   sees enough of them.
2. Train a small ConvNeXt (convnext_atto, 128-D ``head_hidden_size`` bottleneck) with the
   Dirichlet-multinomial loss on the simulated volunteer votes plus an augmentation-invariance
   term (``raregal.encode.train``). The encoder never sees ``true_class``.
3. Simulate held-out surveys (seed 2, one per preset), embed them, and measure the vote-fraction
   error (MAE) and how well the 128-D features separate the planted classes among featured
   galaxies and the artifact types among artifacts (kNN purity of ``true_class``; raw pixels as
   a baseline). Their representations also give the domain guard's reference
   (``raregal.encode.guard.reference_statistics``).
4. Store the weights as float16 safetensors with the record of all this in ``config.json``.

Real images are never used here: the labelled real examples are a separate check
(``python -m raregal.bench.real_examples``).

Run (hours on 2 CPU cores; resumable: run the same command again after an interruption)::

    RAREGAL_NUM_THREADS=2 python scripts/train_demo_encoder.py --work /tmp/demo_encoder \\
        --out src/raregal/encode/weights/demo --init src/raregal/encode/weights/demo
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from raregal.encode.embed import embed
from raregal.encode.guard import reference_statistics
from raregal.encode.models import CONFIG_NAME, WEIGHTS_NAME
from raregal.encode.train import TrainConfig, fraction_mae, train
from raregal.schema import ANSWER_COLUMNS, FRACTION_COLUMNS
from raregal.simulate.survey import SIMULATOR_VERSION, simulate_survey

logger = logging.getLogger("train_demo_encoder")

TEST_PRESETS = ("decals", "sdss")


def featured_mask(df: pd.DataFrame) -> np.ndarray:
    """The paper's selection on predicted fractions: not smooth, not edge-on, not an artifact."""
    return (
        (df["smooth-or-featured_smooth_fraction"] < 0.5)
        & (df["disk-edge-on_yes_fraction"] < 0.3)
        & (df["smooth-or-featured_artifact_fraction"] < 0.3)
    ).to_numpy()


def knn_purity(x: np.ndarray, labels: np.ndarray, classes: list[str], k: int = 10) -> dict:
    """Mean share of each galaxy's k nearest neighbours (standardised space) with its label."""
    from sklearn.neighbors import NearestNeighbors

    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-8)
    k = min(k, len(x) - 1)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    same = labels[idx[:, 1:]] == labels[:, None]
    out = {}
    for name in classes:
        members = labels == name
        if members.sum() >= 3:
            out[name] = {
                "n": int(members.sum()),
                "purity": round(float(same[members].mean()), 4),
                "chance": round(float(members.mean()), 4),
            }
    return out


def pixels(files: list[str], size: int = 16) -> np.ndarray:
    """Raw-pixel baseline: each image shrunk to ``size`` px, flattened."""
    from raregal.encode.images import Preprocessing, load_image

    prep = Preprocessing(image_size=size)
    return np.stack([load_image(f, prep).ravel() / 255.0 for f in files])


def _mean_purity(table: dict) -> float:
    return round(float(np.mean([v["purity"] for v in table.values()])), 4) if table else 0.0


def evaluate_preset(args, model_dir: Path, preset: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """Held-out figures on a survey of ``preset``; also its features and fractions."""
    test_catalog = simulate_survey(
        args.work / f"test_{preset}",
        n=args.n_test,
        seed=2,
        size=args.image_size,
        rare_fraction=0.015,
        artifact_fraction=0.01,
        preset=preset,
        contact_sheets=False,
        progress=False,
    )
    reps = embed(
        test_catalog,
        args.work / f"test_{preset}_reps.parquet",
        model_dir,
        overwrite=True,
        progress=False,
    )
    truth = pd.read_parquet(test_catalog)
    df = pd.read_parquet(reps.path).merge(
        truth[["id_str", "file_loc", "true_class", "class_kind", *ANSWER_COLUMNS]], on="id_str"
    )
    feats = df[[f"feat_{i}" for i in range(128)]].to_numpy()
    fractions = df[FRACTION_COLUMNS].to_numpy()
    mae = fraction_mae(fractions, df[ANSWER_COLUMNS].to_numpy())
    featured = featured_mask(df)
    labels = df["true_class"].to_numpy()
    kinds = df["class_kind"].to_numpy()
    rare = sorted(truth.loc[truth["class_kind"] == "rare", "true_class"].unique())
    artifacts = sorted(truth.loc[truth["class_kind"] == "artifact", "true_class"].unique())
    files = [str(Path(test_catalog).parent / f) for f in df["file_loc"]]
    raw = pixels(files)
    purity = knn_purity(feats[featured], labels[featured], rare)
    baseline = knn_purity(raw[featured], labels[featured], rare)
    is_artifact = kinds == "artifact"
    artifact_purity = knn_purity(feats[is_artifact], labels[is_artifact], artifacts, k=5)
    artifact_removed = float(
        (df["smooth-or-featured_artifact_fraction"].to_numpy()[is_artifact] >= 0.3).mean()
    )
    kept_rare = {name: round(float(featured[labels == name].mean()), 3) for name in rare}
    figures = {
        "test_survey": {
            "seed": 2,
            "n": args.n_test,
            "preset": preset,
            "rare_fraction": 0.015,
            "artifact_fraction": 0.01,
            "size": args.image_size,
        },
        "vote_fraction_mae": round(mae, 4),
        "n_featured": int(featured.sum()),
        "rare_kept_by_selection": kept_rare,
        "artifacts_removed_by_rule": round(artifact_removed, 3),
        "knn10_purity_rare_features": purity,
        "knn10_purity_rare_pixels16": baseline,
        "knn5_purity_artifact_types_features": artifact_purity,
        "mean_purity_features": _mean_purity(purity),
        "mean_purity_pixels": _mean_purity(baseline),
        "mean_purity_artifact_types": _mean_purity(artifact_purity),
    }
    logger.info("held-out %s: %s", preset, json.dumps(figures, indent=1))
    return figures, feats, fractions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/demo_encoder"))
    parser.add_argument("--out", type=Path, default=Path("src/raregal/encode/weights/demo"))
    parser.add_argument("--n-train", type=int, default=24000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--preset", default="mixed", help="preset of the training survey")
    parser.add_argument("--arch", default="convnext_atto")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--consistency-weight", type=float, default=0.5)
    parser.add_argument("--covariance-weight", type=float, default=0.0)
    parser.add_argument("--rare-fraction", type=float, default=0.04)
    parser.add_argument("--artifact-fraction", type=float, default=0.02)
    parser.add_argument("--train-catalog", type=Path, help="reuse a simulated survey's catalog")
    parser.add_argument("--init", help="finetune from this encoder (load_model name or folder)")
    parser.add_argument(
        "--fresh-head", action="store_true", help="take only the encoder from --init, not its head"
    )
    parser.add_argument(
        "--head-norm", action="store_true", help="layer-normalise the representation in the head"
    )
    parser.add_argument(
        "--reset-questions",
        nargs="*",
        default=[],
        help="questions whose answers start afresh in the head (revives pinned answers)",
    )
    parser.add_argument("--eval-only", action="store_true", help="evaluate WORK/model as it is")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    train_catalog = args.train_catalog or simulate_survey(
        args.work / "train",
        n=args.n_train,
        seed=1,
        size=args.image_size,
        rare_fraction=args.rare_fraction,
        artifact_fraction=args.artifact_fraction,
        preset=args.preset,
        contact_sheets=False,
        progress=False,
    )
    config = TrainConfig(
        arch=args.arch,
        bottleneck=128,
        image_size=args.image_size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        val_fraction=0.1,
        patience=3,
        seed=1,
        consistency_weight=args.consistency_weight,
        covariance_weight=args.covariance_weight,
        init=args.init,
        init_head=not args.fresh_head,
        head_norm=args.head_norm,
        reset_questions=tuple(args.reset_questions),
    )
    model_dir = args.work / "model"
    if not args.eval_only:
        result = train(train_catalog, model_dir, config, progress=False)
        logger.info("trained: best epoch %d, val MAE %.4f", result.best_epoch, result.val_mae)

    evaluation, features, fractions = {}, [], []
    for preset in TEST_PRESETS:
        evaluation[preset], feats, fracs = evaluate_preset(args, model_dir, preset)
        features.append(feats)
        fractions.append(fracs)
    reference = reference_statistics(np.concatenate(features), np.concatenate(fractions))
    export(model_dir, args.out, evaluation, reference, args, train_catalog)


def training_summary(survey: dict) -> str:
    """One sentence saying what the model was trained on (shown in reports and the README)."""
    presets = {"mixed": "DECaLS-like and SDSS-like", "decals": "DECaLS-like", "sdss": "SDSS-like"}
    return (
        f"simulated galaxies only: {survey['n']:,} cutouts of raregal's simulator version "
        f"{survey['version']} ({presets.get(survey.get('preset', 'decals'), survey.get('preset'))}"
        f" presets, {survey['size']} px, survey seed {survey['seed']}) with simulated Galaxy Zoo "
        "DESI votes; never real images"
    )


def export(
    model_dir: Path, out: Path, evaluation: dict, reference: dict, args, train_catalog: Path
) -> None:
    """Copy the checkpoint as float16 weights with the training record and evaluation."""
    from safetensors.torch import load_file, save_file

    out.mkdir(parents=True, exist_ok=True)
    state = load_file(str(model_dir / WEIGHTS_NAME))
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    save_file(half, str(out / WEIGHTS_NAME), metadata={"format": "raregal-encoder-v1"})
    config = json.loads((model_dir / CONFIG_NAME).read_text())
    survey = json.loads((Path(train_catalog).parent / "survey.json").read_text())
    if survey.get("version") != SIMULATOR_VERSION:
        logger.warning("the training survey is of simulator version %s", survey.get("version"))
    training = config["raregal"]["training"]
    training["summary"] = training_summary(survey)
    training["evaluation"] = evaluation
    training["reference"] = reference
    training["recipe"] = {
        "script": "scripts/train_demo_encoder.py",
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "train_survey": survey,
        "weights_dtype": "float16 (loaded into float32)",
    }
    (out / CONFIG_NAME).write_text(json.dumps(config, indent=2, default=str))
    logger.info("wrote %s (%.1f MB)", out, (out / WEIGHTS_NAME).stat().st_size / 1e6)


if __name__ == "__main__":
    main()
