"""Screenshots of the explorer for the docs: the map, an object view and the condensed tree.

Serves a run folder (the demo's: ``raregal demo --out runs/demo``), opens it in Debian's headless
chromium with the flags CI uses, and writes three small PNGs (quantised to 256 colours)::

    PYTHONPATH=src python scripts/explore_screenshots.py --run runs/demo --out docs/images
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from raregal.bench.explore import CHROMIUM, CHROMIUM_ARGS
from raregal.explore.serve import BackgroundServer
from raregal.explore.server import create_app

WIDTH, HEIGHT = 1280, 800


def save_small(png: bytes, path: Path, width: int = 960) -> None:
    """Shrink a screenshot to ``width`` px and store it with a 256-colour palette."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        path, optimize=True
    )


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="a run folder, e.g. the demo's")
    parser.add_argument("--out", default="docs/images")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = create_app(args.run, build_index=True)
    run = app.state.run
    island_clusters = run.labels[run.layout.island == run.layout.moved["island"].iloc[0]] if (
        len(run.layout.moved)) else run.labels  # fmt: skip
    rare = int(island_clusters[island_clusters >= 0][0]) if (island_clusters >= 0).any() else 0
    row = int(run.clusters.loc[run.clusters["cluster"] == rare, "medoid_row"].iloc[0]) if (
        "medoid_row" in run.clusters) else int((run.labels == rare).argmax())  # fmt: skip
    with BackgroundServer(app) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.goto(server.url)
        page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
        page.wait_for_timeout(300)
        save_small(page.screenshot(), out / "explore_map.png")
        page.evaluate(f"window.raregal.app.object.open({row})")
        page.wait_for_selector("body[data-cutout='1']")
        page.wait_for_function(
            "document.querySelectorAll('#object-neighbours .thumb img').length > 0", timeout=120_000
        )
        page.wait_for_timeout(800)
        save_small(page.screenshot(), out / "explore_object.png")
        page.keyboard.press("Escape")
        node = int(run.clusters.loc[run.clusters["cluster"] == 0, "parent"].iloc[0])
        page.keyboard.press("t")
        page.wait_for_selector("#tree-box svg")
        page.click(f"#tree-box g.node[data-node='{node}']")
        page.wait_for_selector(f"body[data-compare='{node}']")
        page.wait_for_timeout(800)
        save_small(page.screenshot(), out / "explore_tree.png")
        browser.close()
    for name in ("explore_map", "explore_object", "explore_tree"):
        path = out / f"{name}.png"
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
