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


def _command(suite: dict[str, Any]) -> str:
    """The command suite: one row per run, a summary per size, compile cost, the large run."""
    rows, summaries = [], []
    for n, size in suite.get("sizes", {}).items():
        for seed, runs in size.get("runs", {}).items():
            for side, rec in runs.items():
                if not rec:
                    rows.append([n, seed, side, "failed or not run"] + [""] * 7)
                    continue
                rows.append(
                    [
                        n,
                        seed,
                        side,
                        rec.get("selected"),
                        rec["wall_s"],
                        rec["peak_gib"],
                        f"{rec['recovered']}/{rec['classes']}",
                        rec["mean_fraction_held"],
                        rec["clusters"],
                        _steps(rec),
                        f"{rec['load_average_before'][0]}/{rec['load_average_after'][0]}",
                    ]
                )
        s = size.get("summary", {})
        ours, ref = s.get("raregal", {}), s.get("reference", {})
        summaries.append([
            n, s.get("speedup_total"), s.get("speedup_per_seed"), ours.get("max_peak_gib"),
            ref.get("max_peak_gib"),
            f"{ours.get('mean_recovered')} / {ours.get('worst_recovered')}",
            f"{ref.get('mean_recovered')} / {ref.get('worst_recovered')}",
            f"{ours.get('mean_fraction_held')} / {ours.get('worst_fraction_held')}",
            f"{ref.get('mean_fraction_held')} / {ref.get('worst_fraction_held')}",
        ])  # fmt: skip
    parts = [
        _table(
            [
                "N",
                "seed",
                "command",
                "selected",
                "wall s",
                "peak GiB",
                "planted",
                "held (mean)",
                "leaves",
                "steps s",
                "load before/after",
            ],
            rows,
        )
    ]
    parts.append(_table(["N", "speed-up (all seeds)", "per seed", "raregal peak GiB",
                         "reference peak GiB", "raregal recovered mean / worst",
                         "reference recovered mean / worst", "raregal held mean / worst",
                         "reference held mean / worst"], summaries))  # fmt: skip
    seeds = [[n, s["wall_s"], s["over_one_seed"], s["over_reference"], s["peak_gib"],
              f"{s['recovered']}/{s['classes']}"]
             for n, size in suite.get("sizes", {}).items()
             if (s := size.get("summary", {}).get("raregal-3-seeds"))]  # fmt: skip
    if seeds:
        parts.append("Three seeds (`raregal search --n-seeds 3`) on each size's first table:\n\n"
                     + _table(["N", "wall s", "over one seed", "over reference", "peak GiB",
                               "planted (seed 0)"], seeds))  # fmt: skip
    compile_cost = suite.get("compile_cost")
    if compile_cost:
        parts.append(
            f"Compiled code, {compile_cost.get('n')} galaxies, empty numba cache "
            f"against a full one{_earlier(compile_cost)}:\n\n"
            + _table(
                ["command", "cold s", "warm s", "first-run extra s", "cold CPU s", "warm CPU s"],
                [
                    [
                        side,
                        c["cold_s"],
                        c["warm_s"],
                        c["first_run_extra_s"],
                        c["cold_cpu_s"],
                        c["warm_cpu_s"],
                    ]
                    for side, c in compile_cost.items()
                    if isinstance(c, dict) and side != "earlier_run"
                ],
            )
        )
    large = suite.get("large")
    if large:
        parts.append("Large run" + _earlier(large) + ":\n\n" + _table(
            ["N", "command", "selected", "wall s", "peak GiB", "planted", "held (mean)",
             "steps s"],
            [[large["n"], " ".join(large["command"][1:2] + large["command"][-2:]),
              large.get("selected"), large["wall_s"], large["peak_gib"],
              f"{large['recovered']}/{large['classes']}", large["mean_fraction_held"],
              _steps(large)]]))  # fmt: skip
    return "\n\n".join(parts)


def _earlier(record: dict[str, Any]) -> str:
    """' (not repeated here: ...)' for a figure kept from an earlier run, else ''."""
    earlier = record.get("earlier_run")
    if not earlier:
        return ""
    m = earlier.get("machine") or {}
    return (f" (not repeated here: kept from the run started {earlier.get('started')} on "
            f"{m.get('cpu_model')}, {m.get('cores')} cores)")  # fmt: skip


def _steps(record: dict[str, Any]) -> str:
    """The largest steps of a run, ``name seconds`` separated by commas."""
    steps = {k: v for k, v in (record.get("steps_s") or {}).items()
             if isinstance(v, (int, float)) and k != "total_in_script"}  # fmt: skip
    return ", ".join(f"{k} {round(v, 1)}" for k, v in steps.items() if v >= 0.5)


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
        render = {"speed": _speed, "command": _command}.get(name, _generic)
        lines += [render(suite), ""]
        for extra in suite.get("tables", []):
            lines += [f"### {extra['title']}", "", _generic(extra), ""]
    return "\n".join(lines)
