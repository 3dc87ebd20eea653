"""How the bundled demo encoder (``raregal.encode/weights/demo``) is made, reproducibly.

1. Simulate a survey with ``raregal.simulate`` (seed 1; the demo itself uses seed 0) with the rare
   classes planted at 1.5 % each so that the encoder sees enough of them.
2. Train a small ConvNeXt (convnext_atto, 128-D ``head_hidden_size`` bottleneck, 64 px input) with
   the Dirichlet-multinomial loss on the simulated volunteer votes (``raregal.encode.train``). The
   encoder never sees ``true_class``.
3. Simulate a held-out survey (seed 2), embed it, and measure the vote-fraction error (MAE) and how
   well the 128-D features separate the planted classes among featured galaxies (kNN purity of
   ``true_class``; raw pixels as a baseline).
4. Store the weights as float16 safetensors with the record of all this in ``config.json``.

Run (about 10-20 minutes on 2 CPU cores)::

    python scripts/train_demo_encoder.py --work /tmp/demo_encoder \
        --out src/raregal/encode/weights/demo
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from raregal.encode.embed import embed
from raregal.encode.models import CONFIG_NAME, WEIGHTS_NAME
from raregal.encode.train import TrainConfig, fraction_mae, train
from raregal.schema import ANSWER_COLUMNS, FRACTION_COLUMNS
from raregal.simulate.survey import simulate_survey

logger = logging.getLogger("train_demo_encoder")


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
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    same = labels[idx[:, 1:]] == labels[:, None]
    out = {}
    for name in classes:
        members = labels == name
        if members.sum() >= 3:
            out[name] = {
                "n": int(members.sum()),
                "purity": float(same[members].mean()),
                "chance": float(members.mean()),
            }
    return out


def pixels(files: list[str], size: int = 16) -> np.ndarray:
    """Raw-pixel baseline: each image shrunk to ``size`` px, flattened."""
    from raregal.encode.images import Preprocessing, load_image

    prep = Preprocessing(image_size=size)
    return np.stack([load_image(f, prep).ravel() / 255.0 for f in files])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/demo_encoder"))
    parser.add_argument("--out", type=Path, default=Path("src/raregal/encode/weights/demo"))
    parser.add_argument("--n-train", type=int, default=12000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--arch", default="convnext_atto")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--consistency-weight", type=float, default=0.0)
    parser.add_argument("--rare-fraction", type=float, default=0.015)
    parser.add_argument("--train-catalog", type=Path, help="reuse a simulated survey's catalog")
    parser.add_argument("--init", help="finetune from this encoder (load_model name or folder)")
    parser.add_argument("--eval-only", action="store_true", help="evaluate WORK/model as it is")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    train_catalog = args.train_catalog or simulate_survey(
        args.work / "survey_seed1",
        n=args.n_train,
        seed=1,
        rare_fraction=args.rare_fraction,
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
        init=args.init,
    )
    if not args.eval_only:
        result = train(train_catalog, args.work / "model", config, progress=False)
        logger.info("trained: best epoch %d, val MAE %.4f", result.best_epoch, result.val_mae)

    test_catalog = simulate_survey(
        args.work / "survey_seed2",
        n=args.n_test,
        seed=2,
        rare_fraction=args.rare_fraction,
        contact_sheets=False,
        progress=False,
    )
    reps = embed(
        test_catalog,
        args.work / "test_reps.parquet",
        args.work / "model",
        overwrite=True,
        progress=False,
    )
    truth = pd.read_parquet(test_catalog)
    df = pd.read_parquet(reps.path).merge(
        truth[["id_str", "file_loc", "true_class", *ANSWER_COLUMNS]], on="id_str"
    )
    mae = fraction_mae(df[FRACTION_COLUMNS].to_numpy(), df[ANSWER_COLUMNS].to_numpy())
    featured = featured_mask(df)
    labels = df["true_class"].to_numpy()[featured]
    rare = sorted(truth.loc[truth["class_kind"] == "rare", "true_class"].unique())
    feats = df[[f"feat_{i}" for i in range(128)]].to_numpy()[featured]
    files = [str(Path(test_catalog).parent / f) for f in df["file_loc"].to_numpy()[featured]]
    purity = knn_purity(feats, labels, rare)
    baseline = knn_purity(pixels(files), labels, rare)
    evaluation = {
        "test_survey": {"seed": 2, "n": args.n_test, "rare_fraction": args.rare_fraction},
        "vote_fraction_mae": mae,
        "n_featured": int(featured.sum()),
        "knn10_purity_rare_features": purity,
        "knn10_purity_rare_pixels16": baseline,
        "mean_purity_features": float(np.mean([v["purity"] for v in purity.values()])),
        "mean_purity_pixels": float(np.mean([v["purity"] for v in baseline.values()])),
    }
    logger.info("held-out evaluation: %s", json.dumps(evaluation, indent=1))
    export(args.work / "model", args.out, evaluation, args, train_catalog)


def export(model_dir: Path, out: Path, evaluation: dict, args, train_catalog: Path) -> None:
    """Copy the checkpoint as float16 weights with the training record and evaluation."""
    from safetensors.torch import load_file, save_file

    out.mkdir(parents=True, exist_ok=True)
    state = load_file(str(model_dir / WEIGHTS_NAME))
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    save_file(half, str(out / WEIGHTS_NAME), metadata={"format": "raregal-encoder-v1"})
    config = json.loads((model_dir / CONFIG_NAME).read_text())
    config["raregal"]["training"]["evaluation"] = evaluation
    config["raregal"]["training"]["recipe"] = {
        "script": "scripts/train_demo_encoder.py",
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "train_survey": json.loads((Path(train_catalog).parent / "survey.json").read_text()),
        "weights_dtype": "float16 (loaded into float32)",
    }
    (out / CONFIG_NAME).write_text(json.dumps(config, indent=2, default=str))
    logger.info("wrote %s (%.1f MB)", out, (out / WEIGHTS_NAME).stat().st_size / 1e6)


if __name__ == "__main__":
    main()
