"""The HTML page of the report, from Jinja2 partials shipped in ``raregal/report/templates``.

Templates are read through ``importlib.resources`` (so they work from a wheel or a zip) and every
value is escaped (galaxy names and notes end up in the page). ``render_html`` only fills the
templates from a fully computed context; ``raregal.report.build`` computes it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from raregal.io.atomic import atomic_path

TEMPLATE_PACKAGE = "raregal.report"
INDEX_TEMPLATE = "index.html"
SCRIPT = "tree.js"


def _load_template(name: str) -> str | None:
    source = resources.files(TEMPLATE_PACKAGE).joinpath("templates", name)
    return source.read_text(encoding="utf-8") if source.is_file() else None


def template_environment():
    """A Jinja2 environment over the packaged templates, with autoescaping always on."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(context: dict[str, Any], path: Path) -> Path:
    """Fill ``index.html`` from ``context`` and write it atomically at ``path``.

    The page's script (the clickable tree) is copied beside it as ``tree.js``, a file of its own
    rather than inline code, so that the only script of the page is raregal's.
    """
    html = template_environment().get_template(INDEX_TEMPLATE).render(script=SCRIPT, **context)
    with atomic_path(path.parent / SCRIPT) as tmp:
        tmp.write_text(_load_template(SCRIPT), encoding="utf-8")
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return path
