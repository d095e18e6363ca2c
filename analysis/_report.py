"""Self-contained HTML reports: text, tables and PNG figures embedded as base64."""

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; color: #222;
       line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } .note { color: #555; font-size: 0.92em; }
.verdict { padding: 0.6em 1em; border-left: 4px solid #4a7; background: #f4fbf6; }
.verdict.fail { border-color: #c44; background: #fdf4f4; }
"""


class Report:
    """Build a report section by section, then :meth:`save` one HTML file."""

    def __init__(self, title: str):
        self.title = title
        self.parts: list[str] = []

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def paragraph(self, text: str, cls: str | None = None) -> None:
        attr = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{attr}>{html.escape(text)}</p>")

    def verdict(self, text: str, ok: bool) -> None:
        cls = "verdict" if ok else "verdict fail"
        self.parts.append(f'<div class="{cls}">{html.escape(text)}</div>')

    def table(self, header: list[str], rows: list[list]) -> None:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
            for row in rows
        )
        self.parts.append(f"<table><tr>{head}</tr>{body}</table>")

    def figure(self, fig, caption: str = "") -> None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        data = base64.b64encode(buf.getvalue()).decode()
        cap = f'<p class="note">{html.escape(caption)}</p>' if caption else ""
        self.parts.append(
            f'<img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">{cap}'
        )

    def save(self, path: str | Path) -> None:
        body = "\n".join(self.parts)
        Path(path).write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}"
            f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(self.title)}</h1>"
            f"{body}</body></html>\n"
        )


def save_figure(fig, path: str | Path) -> None:
    """Save ``fig`` as PNG and close it."""
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
