"""Check encoders on labelled real cutouts: agreement with the illustrated answers, and the guard.

``python -m raregal.bench.real_examples EXAMPLES [--model NAME=MODEL ...] [--out DIR]``

``EXAMPLES`` is a folder with ``labels.csv`` (``file``, ``survey``, ``question``, ``answer``) and
the images it names, such as the Galaxy Zoo web app's example cutouts. Every model is measured the
same way (``raregal.encode.real_examples``): its most likely answer to each labelled question
against the answer the image illustrates, with counts per question and per survey; and what the
domain guard (``raregal.encode.guard``) says of its answers on the whole folder. Writes
``real_examples.json`` and ``real_examples.md`` to ``DIR`` (atomically). The examples are a check:
nothing here trains or tunes a model.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from raregal.bench.machine import timestamp
from raregal.io.atomic import atomic_path

logger = logging.getLogger(__name__)


def check(examples: Path, models: dict[str, str]) -> dict[str, Any]:
    """Agreement and guard figures of each model on the examples folder."""
    import pandas as pd

    from raregal.encode.guard import check_domain
    from raregal.encode.models import model_card
    from raregal.encode.real_examples import (
        agreement_table,
        predict_fractions,
        read_labels,
        summarise,
    )

    labels = read_labels(examples)
    unique = labels.drop_duplicates("file")
    results: dict[str, Any] = {}
    for name, model in models.items():
        fractions, features = predict_fractions(unique["file"].tolist(), model)
        by_file = dict(zip(unique["file"], range(len(unique)), strict=True))
        aligned = fractions.iloc[[by_file[f] for f in labels["file"]]].reset_index(drop=True)
        table = agreement_table(labels, aligned)
        card = model_card(model)
        reps = pd.concat(
            [
                fractions,
                pd.DataFrame(features, columns=[f"feat_{i}" for i in range(features.shape[1])]),
            ],
            axis=1,
        )
        guard = check_domain(reps, card["reference"], f"model '{name}'")
        results[name] = {
            "model": str(model),
            "trained_on": card["trained_on"],
            "summary": summarise(table, len(labels)),
            "guard": guard.to_dict(),
            "table": table.to_dict(orient="records"),
            "mean_fractions": {
                c: round(float(np.mean(fractions[c])), 4)
                for c in (
                    "smooth-or-featured_smooth_fraction",
                    "smooth-or-featured_featured-or-disk_fraction",
                    "smooth-or-featured_artifact_fraction",
                    "disk-edge-on_yes_fraction",
                )
            },
        }
        head = results[name]["summary"]["headline"]
        logger.info("%s: %d of %d on the selection's questions", name, head["agree"], head["n"])
    return {
        "when": timestamp(),
        "examples": str(examples),
        "n_images": len(unique),
        "models": results,
    }


def markdown(result: dict[str, Any]) -> str:
    """The results as Markdown: per model, headline and per-question counts, and the guard."""
    from raregal.encode.real_examples import format_summary

    lines = [
        "# Encoders on labelled real cutouts",
        "",
        f"- when: {result['when']}",
        f"- examples: `{result['examples']}` ({result['n_images']} images)",
        "- agreement: the encoder's most likely answer to the labelled question is the answer the "
        "image illustrates (`raregal.encode.real_examples.ANSWER_MAP`)",
        "",
    ]
    for name, entry in result["models"].items():
        lines += format_summary(f"{name} (`{entry['model']}`)", entry["summary"])
        lines.append(f"Trained on: {entry['trained_on'] or 'not recorded'}.")
        guard = entry["guard"]
        verdict = guard["message"] if guard["warned"] else "quiet"
        lines += ["", f"Domain guard on the whole folder: {verdict}", ""]
        lines.append(f"Guard figures: `{json.dumps(guard['figures'])}`")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m raregal.bench.real_examples", description=__doc__.splitlines()[0]
    )
    parser.add_argument("examples", type=Path, help="folder with labels.csv and the images")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=MODEL",
        help="a model to check, repeatable (default: demo=demo)",
    )
    parser.add_argument("--out", type=Path, help="folder for real_examples.json and .md")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    models = dict(item.split("=", 1) if "=" in item else (item, item) for item in args.model)
    result = check(args.examples, models or {"demo": "demo"})
    text = markdown(result)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.out / "real_examples.json") as tmp:
            tmp.write_text(json.dumps(result, indent=1, default=str))
        with atomic_path(args.out / "real_examples.md") as tmp:
            tmp.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
