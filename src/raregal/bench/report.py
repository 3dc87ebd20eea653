"""Markdown tables of a benchmark record (``bench.md``)."""

from __future__ import annotations

from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _speed(suite: dict[str, Any]) -> str:
    rows = []
    for n, size in suite.get("sizes", {}).items():
        for name, rec in size["configs"].items():
            if not rec:
                rows.append([n, name, "not measured (failed or not run)"] + [""] * 8)
                continue
            rec_ = rec.get("recovery", {})
            rows.append([
                n, name, rec.get("neighbors_s", ""), rec.get("layout_s", ""), rec["hdbscan_s"],
                rec["search_s"], rec["peak_gib"],
                f"{rec_.get('recovered', '')}/{rec_.get('classes', '')}",
                rec.get("clustered_fraction"), rec.get("n_clusters"),
                "/".join(map(str, rec.get("load_average_before", [])[:1] +
                             rec.get("load_average_after", [])[:1])),
            ])  # fmt: skip
    parts = [_table(["N", "config", "neighbours s", "layout s", "HDBSCAN s", "search s",
                     "peak GiB", "planted recovered", "clustered", "leaves",
                     "load before/after"], rows)]  # fmt: skip
    agree = [[n, s.get("speedup", {}).get("search"), s.get("seeds_vs_one_seed"),
              s.get("seeds_vs_reference"), *(
        s.get("agreement", {}).get(k) for k in
        ("engines_same_input_ari", "engines_same_input_clustered_ari", "pipelines_ari",
         "pipelines_clustered_ari"))] for n, s in suite.get("sizes", {}).items()]  # fmt: skip
    parts.append(_table(["N", "search speed-up", "3 seeds / 1 seed", "3 seeds / reference",
                         "ARI engines, same 5-D input", "ARI (clustered only)",
                         "ARI raregal vs reference", "ARI (clustered only)"], agree))  # fmt: skip
    seeds = [[n, *(rec["seeds"].get(k) for k in ("clusters", "found_in_3", "found_in_2",
                                                 "found_in_1", "stable_members",
                                                 "planted_recovered_and_stable",
                                                 "planted_seeds_recovered")),
              rec.get("first_seed_s"), rec.get("search_s")]
             for n, size in suite.get("sizes", {}).items()
             for name, rec in size["configs"].items() if rec and rec.get("seeds")]  # fmt: skip
    if seeds:
        header = ["N", "clusters", "in 3 of 3", "in 2 of 3", "in 1 of 3", "members in stable",
                  "planted recovered and stable", "seeds recovering each group", "first seed s",
                  "3 seeds s"]  # fmt: skip
        parts.append("Three seeds sharing neighbours, graph and start (raregal-3-seeds):\n\n"
                     + _table(header, seeds))
    growth = suite.get("growth_exponents", {})
    if growth:
        stages = sorted({s for g in growth.values() for s in g})
        parts.append(
            "Growth exponent b of time ~ N^b:\n\n"
            + _table(
                ["config", *stages], [[c, *(g.get(s) for s in stages)] for c, g in growth.items()]
            )
        )
    return "\n\n".join(parts)


def _generic(suite: dict[str, Any]) -> str:
    rows = suite.get("rows")
    if rows:
        header = list(rows[0])
        return _table(header, [[r.get(h) for h in header] for r in rows])
    flat = {k: v for k, v in suite.items() if not isinstance(v, (dict, list))}
    return _table(["figure", "value"], [[k, v] for k, v in flat.items()])


def markdown(record: dict[str, Any]) -> str:
    """The whole record as Markdown: header facts, then one section per suite."""
    m = record.get("machine", {})
    lines = [
        "# raregal benchmarks", "",
        f"- when: {record.get('timestamp')}",
        f"- command: `{record.get('command')}`",
        f"- machine: {m.get('cpu_model')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB; "
        f"load average at start {m.get('load_average', m.get('load_average_end'))}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in record.get("versions", {}).items() if v),
        "",
    ]  # fmt: skip
    for name, suite in record.get("suites", {}).items():
        lines += [f"## {name}", "",
                  f"{suite.get('started')} to {suite.get('finished')}; load average at end "
                  f"{suite.get('machine', {}).get('load_average')}", ""]  # fmt: skip
        if suite.get("note"):
            lines += [suite["note"], ""]
        lines += [_speed(suite) if name == "speed" else _generic(suite), ""]
        for extra in suite.get("tables", []):
            lines += [f"### {extra['title']}", "", _generic(extra), ""]
    return "\n".join(lines)
