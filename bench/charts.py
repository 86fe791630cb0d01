"""SVG bar charts for BENCHMARKS.md, drawn from bench/results.json by `./bench/run`.

Plain SVG 1.1 with a white background and system fonts, so GitHub renders it as an image
(no scripts, no external references)."""

from html import escape

# One colour per series, distinguishable in greyscale and by people with colour blindness
# (Okabe–Ito).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9"]
FONT = "font-family=\"-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\""


def _nice_max(value):
    """A round axis maximum at or above `value`."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _number(value):
    return f"{value:,.0f}"


def grouped_bars(title, unit, groups, series, values, note=""):
    """Vertical bars: one cluster per group, one bar per series in each.

    `values[group][series]` is a number (or None for no bar)."""
    width, height = 720, 360
    left, right, top, bottom = 70, 20, 50, 80
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max(v for g in groups for v in values[g].values() if v is not None))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
           f' viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f'<title>{escape(title)}</title>',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="{left}" y="24" {FONT} font-size="16" font-weight="600"'
           f' fill="#1f2328">{escape(title)}</text>']
    if note:
        out.append(f'<text x="{left}" y="42" {FONT} font-size="12" fill="#57606a">'
                   f'{escape(note)}</text>')
    for i in range(5):
        tick = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"'
                   f' stroke="#d0d7de" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" {FONT} font-size="11" fill="#57606a"'
                   f' text-anchor="end">{_number(tick)}</text>')
    out.append(f'<text x="16" y="{top + plot_h / 2:.1f}" {FONT} font-size="12" fill="#57606a"'
               f' text-anchor="middle" transform="rotate(-90 16 {top + plot_h / 2:.1f})">'
               f'{escape(unit)}</text>')
    cluster = plot_w / len(groups)
    bar = cluster * 0.8 / len(series)
    for gi, group in enumerate(groups):
        x0 = left + gi * cluster + cluster * 0.1
        for si, name in enumerate(series):
            value = values[group].get(name)
            if value is None:
                continue
            h = plot_h * value / top_value
            x = x0 + si * bar
            y = top + plot_h - h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}"'
                       f' fill="{COLOURS[si % len(COLOURS)]}"><title>{escape(name)}, {escape(group)}:'
                       f' {_number(value)} {escape(unit)}</title></rect>')
            out.append(f'<text x="{x + (bar - 2) / 2:.1f}" y="{y - 4:.1f}" {FONT} font-size="10"'
                       f' fill="#1f2328" text-anchor="middle">{_number(value)}</text>')
        out.append(f'<text x="{x0 + cluster * 0.4:.1f}" y="{top + plot_h + 18}" {FONT}'
                   f' font-size="12" fill="#1f2328" text-anchor="middle">{escape(group)}</text>')
    legend_x = left
    for si, name in enumerate(series):
        y = height - 22
        out.append(f'<rect x="{legend_x}" y="{y - 10}" width="12" height="12"'
                   f' fill="{COLOURS[si % len(COLOURS)]}"/>')
        out.append(f'<text x="{legend_x + 18}" y="{y}" {FONT} font-size="12" fill="#1f2328">'
                   f'{escape(name)}</text>')
        legend_x += 28 + 7 * len(name)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def horizontal_bars(title, unit, rows, note=""):
    """One horizontal bar per (label, value) row, highest first as given."""
    row_h, left, right, top = 34, 250, 90, 50
    width = 720
    height = top + row_h * len(rows) + 30
    plot_w = width - left - right
    top_value = _nice_max(max(value for _, value in rows))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
           f' viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f'<title>{escape(title)}</title>',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="16" y="24" {FONT} font-size="16" font-weight="600" fill="#1f2328">'
           f'{escape(title)}</text>']
    if note:
        out.append(f'<text x="16" y="42" {FONT} font-size="12" fill="#57606a">{escape(note)}</text>')
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h + 6
        w = plot_w * value / top_value
        out.append(f'<text x="{left - 8}" y="{y + 16}" {FONT} font-size="12" fill="#1f2328"'
                   f' text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="22"'
                   f' fill="{COLOURS[i % len(COLOURS)]}"><title>{escape(label)}: {_number(value)}'
                   f' {escape(unit)}</title></rect>')
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + 16}" {FONT} font-size="12"'
                   f' fill="#1f2328">{_number(value)}</text>')
    out.append(f'<text x="{left}" y="{height - 8}" {FONT} font-size="11" fill="#57606a">'
               f'{escape(unit)} (axis 0–{_number(top_value)})</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
