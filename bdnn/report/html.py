"""A self-contained HTML page from the small Markdown subset that claims.md uses (headings,
paragraphs, bullet lists, pipe tables, **bold**, `code`), for the Snakemake report, which shows
HTML but not Markdown."""

from __future__ import annotations

import html
import re

STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:1em auto;line-height:1.4}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    "code{background:#f4f4f4;padding:0 .2em}"
)


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _bullets(lines: list[str]) -> str:
    """A bullet list; an indented line continues its item, an indented `- ` is a sub-item."""
    items: list[tuple[list[str], list[str]]] = []
    for line in lines:
        if line.startswith("- "):
            items.append(([line[2:]], []))
        elif line.strip().startswith("- "):
            items[-1][1].append(line.strip()[2:])
        else:
            items[-1][0].append(line.strip())
    out = []
    for text, subs in items:
        sub = "<ul>" + "".join(f"<li>{_inline(s)}</li>" for s in subs) + "</ul>" if subs else ""
        out.append(f"<li>{_inline(' '.join(text))}{sub}</li>")
    return "<ul>" + "".join(out) + "</ul>"


def markdown_to_html(text: str, title: str) -> str:
    """The page: blocks separated by blank lines; a block is a heading, a bullet list, a pipe
    table (header, separator, rows) or a paragraph."""
    body = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        heading = re.match(r"(#{1,6}) (.*)", lines[0])
        if heading and len(lines) == 1:
            level = len(heading.group(1))
            body.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif lines[0].startswith("- ") and all(line.startswith(("- ", " ")) for line in lines):
            body.append(_bullets(lines))
        elif len(lines) >= 2 and lines[0].startswith("|") and re.fullmatch(r"\|?[-|: ]+\|?", lines[1].strip()):
            head = "".join(f"<th>{_inline(c)}</th>" for c in _cells(lines[0]))
            rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(line)) + "</tr>" for line in lines[2:])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        else:
            body.append(f"<p>{_inline(' '.join(lines))}</p>")
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style></head>\n'
        f"<body>\n{chr(10).join(body)}\n</body></html>\n"
    )
