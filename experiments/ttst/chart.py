#!/usr/bin/python3
"""Draws the campaign's results (results.json) as one bar per fault type, stacked by outcome, like
the seed's Figure 6. Run with Debian's python3 (python3-matplotlib).

Usage: chart.py results.json results.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OUTCOMES = [("committed", "#4daf4a"), ("timeout", "#984ea3"), ("crash", "#e41a1c"),
            ("state difference", "#377eb8"), ("invariant violation", "#ff7f00")]


def main():
    with open(sys.argv[1]) as f:
        data = json.load(f)
    runs = data["runs"]
    kinds = []
    for r in runs:
        if r["kind"] not in kinds:
            kinds.append(r["kind"])
    fig, ax = plt.subplots(figsize=(7, 4.2))
    bottom = [0] * len(kinds)
    for outcome, color in OUTCOMES:
        counts = [sum(1 for r in runs if r["kind"] == k and r["outcome"] == outcome) for k in kinds]
        label = "update committed" if outcome == "committed" else f"rolled back: {outcome}"
        ax.bar(kinds, counts, bottom=bottom, color=color, label=label, width=0.6)
        bottom = [b + c for b, c in zip(bottom, counts)]
    bad = sum(1 for r in runs if r.get("corrupted") or r.get("harmed"))
    ax.set_ylabel("runs")
    ax.set_xlabel("fault type")
    mode = "TTST" if data.get("validate", True) else "Forward only (--no-validate)"
    ax.set_title(f"{mode} under fault injection: {len(runs)} updates, phi = {data['phi']}\n"
                 f"{bad} committed with a corrupted state or harming the old process", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=120)


if __name__ == "__main__":
    main()
