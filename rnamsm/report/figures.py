"""Report figures drawn with matplotlib, returned as self-contained ``data:image/svg+xml`` URIs.

Figures are rendered without pyplot (no global state) with a fixed ``svg.hashsalt`` and no date
metadata, so the same inputs always give the same bytes. Figures carry no free text from the user
(at most nucleotide letters): titles and captions live in the HTML, where they are escaped.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib
import numpy as np
import RNA
from matplotlib.figure import Figure
from matplotlib.patches import Arc

from rnamsm.formats.structure import nested_dbn
from rnamsm.report.pairs import Pair

#: Nucleotide colours shared by the figures and the alignment preview (``report.css``).
NUCLEOTIDE_COLOURS: dict[str, str] = {"A": "#2e7d32", "C": "#1565c0", "G": "#ef6c00", "U": "#c62828"}
#: Largest matrix side drawn at full resolution; bigger maps are max-pooled down to about this size.
MAX_MAP_SIDE = 400

_SVG_RC = {"svg.hashsalt": "rnamsm-report", "svg.fonttype": "none", "font.size": 9}


def svg_uri(figure: Figure) -> str:
    """Render a figure to a byte-stable SVG ``data:`` URI."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(_SVG_RC):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_SVG_RC):
        return Figure(figsize=(width, height), layout="constrained")


def coverage_plot(coverage: Sequence[float]) -> str:
    """Fraction of MSA rows with a residue at each query position."""
    figure = _figure(7.5, 2.2)
    axes = figure.add_subplot()
    positions = np.arange(1, len(coverage) + 1)
    axes.fill_between(positions, coverage, step="mid", color="#90caf9")
    axes.step(positions, coverage, where="mid", color="#1565c0", linewidth=1)
    axes.set(xlim=(0.5, len(coverage) + 0.5), ylim=(0, 1.02), xlabel="query position", ylabel="coverage")
    return svg_uri(figure)


def identity_histogram(identities: Sequence[float]) -> str:
    """Histogram of the identity of each homolog row to the query."""
    figure = _figure(4.2, 2.4)
    axes = figure.add_subplot()
    axes.hist(identities, bins=np.linspace(0, 1, 21), color="#7986cb", edgecolor="white")
    axes.set(xlim=(0, 1), xlabel="identity to query", ylabel="rows")
    return svg_uri(figure)


def _pool(matrix: np.ndarray) -> np.ndarray:
    """Max-pool an (L, L) matrix so that no side exceeds about :data:`MAX_MAP_SIDE`."""
    factor = -(-matrix.shape[0] // MAX_MAP_SIDE)
    if factor == 1:
        return matrix
    side = -(-matrix.shape[0] // factor) * factor
    padded = np.zeros((side, side))
    padded[: matrix.shape[0], : matrix.shape[1]] = matrix
    return padded.reshape(side // factor, factor, side // factor, factor).max(axis=(1, 3))


def pair_map(matrix: np.ndarray, pairs: set[Pair]) -> str:
    """Heat map of an (L, L) pair matrix (upper triangle) with discrete pairs marked below the diagonal."""
    length = matrix.shape[0]
    figure = _figure(3.6, 3.2)
    axes = figure.add_subplot()
    upper = np.triu(np.clip(matrix, 0.0, 1.0), k=1)
    image = axes.imshow(
        _pool(upper), cmap="Greys", vmin=0, vmax=1, interpolation="nearest", origin="upper",
        extent=(0.5, length + 0.5, length + 0.5, 0.5),
    )
    if pairs:
        i, j = np.array(sorted(pairs)).T
        axes.scatter(i, j, s=max(2.0, 600 / length), marker="s", color="#d84315", linewidths=0)
    axes.plot([0.5, length + 0.5], [0.5, length + 0.5], color="#9e9e9e", linewidth=0.5)
    axes.set(xlabel="position", ylabel="position")
    figure.colorbar(image, ax=axes, shrink=0.8, label="probability")
    return svg_uri(figure)


def arc_diagram(length: int, above: set[Pair], below: set[Pair]) -> str:
    """Arc diagram: ``above`` pairs over the backbone, ``below`` pairs under it; shared pairs in grey."""
    figure = _figure(7.5, 2.8)
    axes = figure.add_subplot()
    shared = above & below
    for pairs, sign, colour in ((above, 1, "#d84315"), (below, -1, "#1565c0")):
        for i, j in sorted(pairs):
            axes.add_patch(Arc(
                ((i + j) / 2, 0), j - i, j - i, theta1=0 if sign > 0 else 180, theta2=180 if sign > 0 else 360,
                color="#9e9e9e" if (i, j) in shared else colour, linewidth=1.2,
            ))
    axes.plot([1, length], [0, 0], color="black", linewidth=1)
    reach = max([j - i for i, j in above | below], default=2) / 2 + 1
    axes.set(xlim=(0, length + 1), ylim=(-reach, reach), xlabel="query position")
    axes.set_yticks([])
    for side in ("left", "right", "top"):
        axes.spines[side].set_visible(False)
    return svg_uri(figure)


def structure_drawing(sequence: str, pairs: set[Pair]) -> str:
    """2D drawing with ViennaRNA's naview layout of the nested part of the structure (its first dot-bracket level).

    Pairs that cross others (pseudoknots) are drawn as dashed chords on the same layout.
    """
    nested = nested_dbn(pairs, len(sequence))
    coordinates = RNA.naview_xy_coordinates(nested)
    x = np.array([coordinates[k].X for k in range(len(sequence))])
    y = np.array([coordinates[k].Y for k in range(len(sequence))])
    figure = _figure(4.6, 4.6)
    axes = figure.add_subplot()
    axes.plot(x, y, color="#616161", linewidth=1, zorder=1)
    nested_pairs = {(i, j) for i, j in pairs if nested[i - 1] == "(" and nested[j - 1] == ")"}
    for i, j in sorted(pairs):
        axes.plot([x[i - 1], x[j - 1]], [y[i - 1], y[j - 1]], color="#d84315", zorder=1,
                  linewidth=1.5 if (i, j) in nested_pairs else 0.8,
                  linestyle="-" if (i, j) in nested_pairs else "--")
    colours = [NUCLEOTIDE_COLOURS.get(base, "#757575") for base in sequence]
    axes.scatter(x, y, s=60 if len(sequence) <= 200 else 8, color=colours, zorder=2, linewidths=0)
    if len(sequence) <= 200:
        for k, base in enumerate(sequence):
            axes.text(x[k], y[k], base, ha="center", va="center", color="white", fontsize=6, zorder=3)
    axes.set_aspect("equal")
    axes.set_axis_off()
    return svg_uri(figure)


def rsa_profile(rsa: Sequence[float], nucleotides: Sequence[str]) -> str:
    """Per-nucleotide relative solvent accessibility as bars coloured by nucleotide."""
    figure = _figure(7.5, 2.4)
    axes = figure.add_subplot()
    positions = np.arange(1, len(rsa) + 1)
    colours = [NUCLEOTIDE_COLOURS.get(base, "#757575") for base in nucleotides]
    axes.bar(positions, rsa, width=0.85, color=colours)
    axes.set(xlim=(0.5, len(rsa) + 0.5), ylim=(0, max(1.0, max(rsa, default=0))), xlabel="query position",
             ylabel="RSA")
    return svg_uri(figure)
