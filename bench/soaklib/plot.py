"""The soak's plot: RSS, its anonymous part, open descriptors and threads over time, one panel each, with the
SIGHUPs as vertical lines and the seconds with failed requests marked red. matplotlib draws it
when it is importable; otherwise the built-in canvas (png.py) does, so the plot never needs a
package the test suite does not install."""

from __future__ import annotations

from .png import Canvas

SERIES = (("rss_mib", "RSS MIB", (31, 119, 180)), ("rss_anon_mib", "RSS ANON (HEAP, STACKS) MIB", (255, 127, 14)),
          ("fds", "OPEN FDS", (44, 160, 44)),
          ("threads", "THREADS", (148, 103, 189)))
WIDTH, HEIGHT = 960, 720
LEFT, RIGHT, TOP, BOTTOM = 90, 20, 40, 40
GREY, LIGHT, RED = (120, 120, 120), (225, 225, 225), (214, 39, 40)


def failed_seconds(samples: list[dict]) -> list[float]:
    """The sample times at which lost, bad or expired counts went up since the sample before."""
    marks, previous = [], 0
    for sample in samples:
        failures = sum(v for k, v in sample["counts"].items() if k.split(".")[1] in ("lost", "bad", "expired"))
        if failures > previous:
            marks.append(sample["t"])
        previous = failures
    return marks


def write_plot(path, samples: list[dict], sighups: list[float], title: str, renderer: str = "auto") -> str:
    """Writes the PNG; returns the renderer used ("matplotlib" or "builtin")."""
    if renderer in ("auto", "matplotlib"):
        try:
            import matplotlib
        except ImportError:
            if renderer == "matplotlib":
                raise
        else:
            matplotlib.use("Agg")
            _matplotlib(path, samples, sighups, title)
            return "matplotlib"
    with open(path, "wb") as f:
        f.write(render(samples, sighups, title).png())
    return "builtin"


def _matplotlib(path, samples, sighups, title) -> None:
    import matplotlib.pyplot as plt

    times = [s["t"] for s in samples]
    figure, axes = plt.subplots(len(SERIES), 1, sharex=True, figsize=(WIDTH / 100, HEIGHT / 100), dpi=100)
    for axis, (key, label, color) in zip(axes, SERIES):
        axis.plot(times, [s[key] for s in samples], color=[c / 255 for c in color], linewidth=1.2)
        axis.set_ylabel(label.lower().replace("mib", "MiB"))
        for t in sighups:
            axis.axvline(t, color="0.85", linewidth=0.8, zorder=0)
        for t in failed_seconds(samples):
            axis.axvline(t, color="tab:red", linewidth=0.8)
        axis.grid(axis="y", color="0.92")
    axes[-1].set_xlabel("time (s); grey: SIGHUP, red: a failed request")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def render(samples: list[dict], sighups: list[float], title: str) -> Canvas:
    """The plot on the built-in canvas."""
    canvas = Canvas(WIDTH, HEIGHT)
    canvas.text(LEFT, 12, title)
    end = max([s["t"] for s in samples] + [1.0])
    panel = (HEIGHT - TOP - BOTTOM) // len(SERIES)

    def x_of(t: float) -> int:
        return LEFT + round((WIDTH - LEFT - RIGHT - 1) * t / end)

    for index, (key, label, color) in enumerate(SERIES):
        top, bottom = TOP + index * panel + 8, TOP + (index + 1) * panel - 12
        values = [s[key] for s in samples]
        low, high = (min(values), max(values)) if values else (0.0, 1.0)
        if high - low < 1e-9:
            low, high = low - 1, high + 1
        ticks = (low, (low + high) / 2, high)
        span = high - low
        low, high = low - 0.05 * span, high + 0.05 * span

        def y_of(v: float) -> int:
            return bottom - round((bottom - top) * (v - low) / (high - low))

        for t in sighups:
            canvas.line(x_of(t), top, x_of(t), bottom, LIGHT)
        for t in failed_seconds(samples):
            canvas.line(x_of(t), top, x_of(t), bottom, RED)
        canvas.line(LEFT, top, LEFT, bottom, GREY)
        canvas.line(LEFT, bottom, WIDTH - RIGHT, bottom, GREY)
        for value in ticks:
            y = y_of(value)
            canvas.line(LEFT - 4, y, LEFT, y, GREY)
            text = f"{value:.1f}".removesuffix(".0") if key.startswith("rss") or high - low < 20 else f"{value:.0f}"
            canvas.text(LEFT - 8 - Canvas.text_width(text), y - 7, text, GREY)
        canvas.text(LEFT + 8, top, label, color)
        points = [(x_of(s["t"]), y_of(s[key])) for s in samples]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            canvas.line(x0, y0, x1, y1, color, width=2)
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        x, text = x_of(end * fraction), f"{end * fraction:.0f}"
        canvas.line(x, HEIGHT - BOTTOM - 4, x, HEIGHT - BOTTOM, GREY)
        canvas.text(min(x - Canvas.text_width(text) // 2, WIDTH - RIGHT - Canvas.text_width(text)),
                    HEIGHT - BOTTOM + 4, text, GREY)
    canvas.text(LEFT, HEIGHT - 18, "TIME (S)   GREY: SIGHUP   RED: A FAILED REQUEST", GREY)
    return canvas
