"""Contact sheets for the docs: each simulated class beside real examples of its Galaxy Zoo answer.

Writes ``docs/images/sim_vs_real_{bulk,rare,artifact}.png`` from a simulated survey (the demo's
look: ``--preset decals``, 96 px) and a folder of labelled real examples (``labels.csv``: file,
survey, question, answer), to compare by eye what the simulator draws with what surveys show::

    raregal simulate --n 3000 --seed 3 --size 96 --rare-fraction 0.03 --artifact-fraction 0.02 \\
        --out /tmp/sheets --no-contact
    python scripts/docs_contact_sheets.py --survey /tmp/sheets \\
        --examples ../shared/data/gz_examples --out docs/images
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from PIL import Image

from raregal.simulate.classes import CLASSES
from raregal.simulate.contact import comparison_sheet

REAL_ANSWERS: dict[str, tuple[tuple[str, str], ...]] = {
    "elliptical": (("simply smooth", "Smooth"),),
    "lenticular": (("prominent is the central bulge", "Dominant"),),
    "edge_on_disk": (("edge-on", "Yes"),),
    "spiral": (("spiral arm pattern", "Spiral"), ("simply smooth", "Features or disk")),
    "barred_spiral": (("bar feature", "Bar"),),
    "spiral_with_companion": (("odd features", "Overlapping"),),
    "elliptical_with_companion": (("odd features", "Overlapping"),),
    "shredded_clumpy": (("odd features", "Irregular"),),
    "barred_clumpy": (("odd features", "Irregular"), ("bar feature", "Bar")),
    "clumpy_lowmass": (("odd features", "Irregular"),),
    "shells_streams": (("merging", "Tidal debris"),),
    "one_armed": (("how many spiral arms", "1"),),
    "merger_bridge": (("merging", "Merging"), ("merging", "Both"), ("odd features", "Merger")),
    "ring": (("odd features", "Ring"),),
}
ARTIFACT_ANSWER = (("simply smooth", "Star or artifact"),)


def real_files(labels: pd.DataFrame, folder: Path, answers) -> list[Path]:
    """Example images whose question contains the given words and whose answer matches."""
    picked = []
    for words, answer in answers:
        match = labels["question"].str.lower().str.contains(words) & (labels["answer"] == answer)
        picked += [folder / f for f in labels.loc[match, "file"]]
    return list(dict.fromkeys(picked))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survey", type=Path, required=True)
    parser.add_argument("--examples", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    catalog = pd.read_parquet(args.survey / "catalog.parquet")
    labels = pd.read_csv(args.examples / "labels.csv")
    args.out.mkdir(parents=True, exist_ok=True)
    for kind in ("bulk", "rare", "artifact"):
        rows = []
        for c in (c for c in CLASSES if c.kind == kind):
            simulated = [args.survey / f for f in catalog.loc[catalog["true_class"] == c.name,
                                                              "file_loc"].head(5)]  # fmt: skip
            answers = ARTIFACT_ANSWER if kind == "artifact" else REAL_ANSWERS[c.name]
            real = real_files(labels, args.examples, answers)
            if kind == "artifact":  # the same real artifacts would repeat: show others per row
                start = 5 * [a.name for a in CLASSES if a.kind == kind].index(c.name) % len(real)
                real = real[start:] + real[:start]
            label = f"{c.name}\n" + " / ".join(a for _, a in answers)
            rows.append((label, simulated, real))
        sheet = comparison_sheet(rows)
        small = Image.fromarray(sheet).quantize(colors=192, method=Image.Quantize.MEDIANCUT)
        small.save(args.out / f"sim_vs_real_{kind}.png", optimize=True)  # small files for git
        print(args.out / f"sim_vs_real_{kind}.png")


if __name__ == "__main__":
    main()
