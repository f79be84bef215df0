"""The report of one run: Markdown tables (latest.md) and one PNG per suite.

Every cell shows the median and, for tandem and baselines, the median ratio to native in the
same round (x > 1: slower than native). A configuration that failed shows "failed: <reason>"
instead of a number, and an empty bar marked "failed" in the plot.
"""
import os

CONFIG_TITLES = {"native": "native", "tandem-1": "tandem, 1 version",
                 "tandem-2": "tandem, 2 versions", "tandem-3": "tandem, 3 versions",
                 "tandem-2-lockstep": "2 versions, --lockstep",
                 "tandem-3-lockstep": "3 versions, --lockstep",
                 "strace": "strace -f"}

SUITE_TITLES = {
    "micro": "micro: cost of one system call (ns per call, lower is better)",
    "cpu": "cpu: CPU-bound programs (wall-clock seconds, lower is better)",
    "servers": "servers: throughput under a bounded load (requests/s, higher is better)",
    "update": "update: live update (bench/update/run.py and ttst.py)",
}


def fmt_value(v, metric):
    if v is None:
        return "–"
    if metric == "ns per call":
        if v < 1000:
            return f"{v:.0f} ns"
        if v < 1e6:
            return f"{v / 1e3:.1f} µs"
        return f"{v / 1e6:.2f} ms"
    if metric == "s":
        return f"{v:.2f} s"
    if metric == "requests/s":
        return f"{v:,.0f}/s"
    return f"{v:g}"


def fmt_ratio(r):
    if r is None:
        return ""
    if r < 10:
        return f"×{r:.2f}"
    if r < 100:
        return f"×{r:.1f}"
    return f"×{r:.0f}"


def _cell(entry, metric, notes):
    if entry.get("failed"):
        # Reasons are long: the cell names a footnote under the table, shared by equal reasons.
        reason = entry["failed"].replace("|", "\\|")
        if reason not in notes:
            notes.append(reason)
        return f"**failed** [{notes.index(reason) + 1}]"
    text = fmt_value(entry.get("median"), metric)
    if entry.get("ratio") is not None:
        text += f" ({fmt_ratio(entry['ratio'])})"
    return text


def _table(rows):
    names = list(rows[0]["configs"])
    head = "| | " + " | ".join(CONFIG_TITLES.get(n, n) for n in names) + " |"
    lines = [head, "|---|" + "---:|" * len(names)]
    notes = []
    for row in rows:
        cells = [_cell(row["configs"][n], row["metric"], notes) for n in names]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    if notes:
        lines += ["", "Failures:", ""] + [f"{i}. {n}" for i, n in enumerate(notes, 1)]
    return lines


def _update_md(suite):
    if suite.get("failed"):
        return [f"failed: {suite['failed']}", ""]
    r = suite["results"]
    lines = [f"Medians of {r.get('repeat')} run(s) each (run.py's own method). Full tables: "
             f"[{suite['files'][1]}]({suite['files'][1]}).", "",
             "| heap objects | changed types | update ms | pause ms |", "|---:|---:|---:|---:|"]
    for row in r.get("heapbench", []):
        m = row["median"]
        lines.append(f"| {row['objects']:,} | {row['changed_pct']} % | {m['update_ms']} | "
                     f"{m['pause_ms']} |")
    k = r.get("kvstore")
    if k:
        lines += ["", f"Example server (kvstore v1 -> v2, 1,000 keys, a client connected): update "
                      f"{k['update_ms']} ms, pause {k['pause_ms']} ms."]
    a = r.get("allocator")
    if a:
        o = a["overhead_ns_per_pair"]
        lines += ["", f"Allocator (tandem-live vs glibc): +{o['hot']} ns per malloc/free pair "
                      f"(hot), +{o['batch']} ns (1,000 live objects)."]
    v = suite.get("validation")
    if v and v.get("failed"):
        lines += ["", f"Validated vs forward-only (bench/update/ttst.py): failed: {v['failed']}"]
    elif v:
        t = v["results"]
        lines += ["", f"Validated (the default) vs forward-only (`--no-validate`) updates, half "
                      f"of the types changed, medians of {t.get('repeat')} run(s); peak memory of "
                      f"a validated update over the program's own. Full table: "
                      f"[{v['files'][1]}]({v['files'][1]}).", "",
                  "| state | validated ms | forward-only ms | ratio | peak PSS / program |",
                  "|---|---:|---:|---:|---:|"]
        for row in t.get("rows", []):
            lines.append(f"| {row['name']} | {row['validated_ms']} | {row['forward_only_ms']} | "
                         f"×{row['ratio']} | ×{row['memory']['pss_all']} |")
    return lines + [""]


def markdown(results):
    m = results["machine"]
    load = results["load"]
    lines = ["# tandem benchmarks", ""]
    if results["quick"]:
        lines += ["**Quick run** (`--quick`): one round, small inputs. It proves that the "
                  "pipeline works; its numbers are not results.", ""]
    lines += [
        f"- Run: {results['started']} (UTC), {results['seconds']:.0f} s, commit "
        f"{results['commit']}; results: `{results['json']}`"
        + (" (suites marked below come from an earlier run)." if any(
            s.get("from_run") for s in results["suites"].values()) else "."),
        f"- Machine: {m['cpu_model']}, {m['vcpus']} vCPUs ({m['virtualization']}), "
        f"{m['mem_gib']} GiB, Linux {m['kernel']}. Shared with other work: load average "
        f"{load['start'][0]} at the start, {load['end'][0]} at the end.",
        "- Method: every round runs each configuration once, alternating native and tandem "
        "(A B A B ...); a cell shows the median over rounds and, in parentheses, the median of "
        "the per-round ratios to native. **×r means r times slower than native** (time: "
        "tandem ÷ native; throughput: native ÷ tandem). A configuration that could not run "
        "shows **failed** and a footnote with the reason.", ""]
    for name, suite in results["suites"].items():
        lines += [f"## {SUITE_TITLES.get(name, name)}", ""]
        if suite.get("from_run"):
            r = suite["from_run"]
            lines += [f"From the earlier run of {r['started']} (commit {r['commit']}, "
                      f"`{r['json']}`; load average {r['load']['start'][0]} at its start, "
                      f"{r['load']['end'][0]} at its end).", ""]
        if name == "update":
            lines += _update_md(suite)
        elif suite.get("failed"):
            lines += [f"failed: {suite['failed']}", ""]
        else:
            if suite.get("rounds"):
                loads = [x for row in suite["rows"] for x in row.get("round_load", [])]
                lines += [f"{suite['rounds']} round{'s' if suite['rounds'] > 1 else ''}"
                          + (f" (load average {min(loads)}–{max(loads)} at their starts)"
                             if loads else "") + ". "
                          + (f"Placement: {suite['placement']}. "
                             if suite.get("placement") else "")
                          + (f"Load: {suite['load']}." if suite.get("load") else ""), ""]
            lines += _table(suite["rows"]) + [""]
        if suite.get("plot"):
            lines += [f"![{name}]({suite['plot']})", ""]
    return "\n".join(lines)


# ---- plots ------------------------------------------------------------------------------------

def plots(results, out):
    """One PNG per suite; returns None or the reason plots were skipped."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return f"matplotlib not available ({e}): install python3-matplotlib"
    for name, suite in results["suites"].items():
        fig = _update_plot(plt, suite) if name == "update" else _ratio_plot(plt, name, suite)
        if fig is None:
            continue
        path = os.path.join(out, f"{name}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        suite["plot"] = os.path.basename(path)
    return None


def _ratio_plot(plt, name, suite):
    rows = suite.get("rows")
    if not rows:
        return None
    series = [n for n in rows[0]["configs"] if n != "native"]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(rows) + 2), 4.2))
    width = 0.8 / len(series)
    top = 1.0
    for i, s in enumerate(series):
        xs, ys = [], []
        for j, row in enumerate(rows):
            e = row["configs"][s]
            x = j + (i - (len(series) - 1) / 2) * width
            if e.get("ratio") is not None:
                xs.append(x)
                ys.append(e["ratio"])
                top = max(top, e["ratio"])
            else:
                ax.text(x, 1.0, "failed" if e.get("failed") else "n/a", rotation=90,
                        ha="center", va="bottom", fontsize=7, color="firebrick")
        ax.bar(xs, ys, width, label=CONFIG_TITLES.get(s, s))
        for x, y in zip(xs, ys):
            ax.text(x, y, fmt_ratio(y)[1:], ha="center", va="bottom", fontsize=6)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xlim(-0.6, len(rows) - 0.4)  # keep slots of failed configurations in view
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["name"] for r in rows], rotation=20, ha="right", fontsize=8)
    if top > 20:
        ax.set_yscale("log")
    ax.set_ylabel("× slower than native (median ratio)")
    ax.set_title(SUITE_TITLES.get(name, name), fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _update_plot(plt, suite):
    r = suite.get("results")
    if not r or not r.get("heapbench"):
        return None
    counts = sorted({row["objects"] for row in r["heapbench"]})
    shares = sorted({row["changed_pct"] for row in r["heapbench"]})
    fig, ax = plt.subplots(figsize=(7, 4.2))
    width = 0.8 / len(shares)
    for i, pct in enumerate(shares):
        xs, ys = [], []
        for j, n in enumerate(counts):
            for row in r["heapbench"]:
                if row["objects"] == n and row["changed_pct"] == pct:
                    xs.append(j + (i - (len(shares) - 1) / 2) * width)
                    ys.append(row["median"]["update_ms"])
        ax.bar(xs, ys, width, label=f"{pct} % of types changed")
    ax.set_xticks(range(len(counts)))
    ax.set_xticklabels([f"{n:,}" for n in counts])
    ax.set_xlabel("heap objects")
    ax.set_ylabel("update time, ms (median)")
    ax.set_yscale("log")
    ax.set_title(SUITE_TITLES["update"], fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
