#!/usr/bin/env python3
"""Turns a terminal screen captured with `tmux capture-pane -e -p -N` into an HTML page
that looks like the terminal: one cell per character on a fixed grid, the 16 ANSI colors,
the 256-color cube and 24-bit colors, bold, dim, italic, underline and reverse.

usage: ansi_to_html.py COLUMNS ROWS < screen.ansi > screen.html
       ansi_to_html.py --window-size COLUMNS ROWS   (prints the page's size: W,H)

Standard library only, so it runs wherever Python 3 does.
"""

import html
import math
import re
import sys

# A dark terminal theme; indexes 0-15 are the ANSI colors, as most terminals draw them.
PALETTE = [
    "#1d1f21", "#e05561", "#8cc265", "#d18f52", "#4aa5f0", "#c162de", "#42b3c2", "#d7dae0",
    "#5c6370", "#ff616e", "#a5e075", "#f0a45d", "#4dc4ff", "#de73ff", "#4cd1e0", "#ffffff",
]
FOREGROUND = "#d7dae0"
BACKGROUND = "#1d1f21"
FONT_PX = 15
LINE_PX = 19
PADDING_PX = 14
# The advance of DejaVu Sans Mono, in em (1233/2048).
CELL_EM = 0.6021

SGR = re.compile(r"\x1b\[([0-9;:]*)m")
OTHER_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|[()][0-9A-B])")


def color_256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    level = 8 + 10 * (n - 232)
    return "#%02x%02x%02x" % (level, level, level)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def key(self):
        return (self.fg, self.bg, self.bold, self.dim, self.italic, self.underline,
                self.reverse)

    def apply(self, params):
        codes = [int(p) if p else 0 for p in re.split("[;:]", params)] if params else [0]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == 0:
                self.reset()
            elif code == 1:
                self.bold = True
            elif code == 2:
                self.dim = True
            elif code == 3:
                self.italic = True
            elif code == 4:
                self.underline = True
            elif code == 7:
                self.reverse = True
            elif code == 22:
                self.bold = self.dim = False
            elif code == 23:
                self.italic = False
            elif code == 24:
                self.underline = False
            elif code == 27:
                self.reverse = False
            elif 30 <= code <= 37:
                self.fg = PALETTE[code - 30]
            elif 90 <= code <= 97:
                self.fg = PALETTE[code - 90 + 8]
            elif 40 <= code <= 47:
                self.bg = PALETTE[code - 40]
            elif 100 <= code <= 107:
                self.bg = PALETTE[code - 100 + 8]
            elif code == 39:
                self.fg = None
            elif code == 49:
                self.bg = None
            elif code in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    value = color_256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    value = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    value = None
                if code == 38:
                    self.fg = value
                else:
                    self.bg = value
            i += 1

    def css(self):
        fg = self.fg or FOREGROUND
        bg = self.bg or BACKGROUND
        if self.reverse:
            fg, bg = bg, fg
        rules = []
        if fg != FOREGROUND:
            rules.append("color:" + fg)
        if bg != BACKGROUND:
            rules.append("background:" + bg)
        if self.bold:
            rules.append("font-weight:bold")
        if self.dim:
            rules.append("opacity:.6")
        if self.italic:
            rules.append("font-style:italic")
        if self.underline:
            rules.append("text-decoration:underline")
        return ";".join(rules)


def cell(char):
    # Every character gets exactly one cell, whatever width its glyph has in the font.
    if ord(char) < 128:
        return html.escape(char)
    return '<span class="c">%s</span>' % html.escape(char)


def render_line(line, style, columns):
    runs = []  # (css, text)
    used = 0
    position = 0
    # Colors and attributes are all a captured pane has; drop anything else.
    line = OTHER_ESCAPE.sub(lambda m: m.group(0) if m.group(0).endswith("m") else "", line)
    for match in SGR.finditer(line):
        text = line[position:match.start()]
        if text:
            text = text[: max(0, columns - used)]
            used += len(text)
            runs.append((style.css(), text))
        style.apply(match.group(1))
        position = match.end()
    text = line[position:][: max(0, columns - used)]
    used += len(text)
    if text:
        runs.append((style.css(), text))
    if used < columns:
        # The rest of the row in the background of the last style, as the terminal shows.
        runs.append((style.css() if style.bg or style.reverse else "", " " * (columns - used)))
    out = []
    for css, text in runs:
        body = "".join(cell(c) for c in text)
        out.append('<span style="%s">%s</span>' % (css, body) if css else body)
    return "".join(out)


def main():
    if sys.argv[1] == "--window-size":
        columns, rows = int(sys.argv[2]), int(sys.argv[3])
        width = 2 * PADDING_PX + math.ceil(columns * FONT_PX * CELL_EM)
        print("%d,%d" % (width, 2 * PADDING_PX + rows * LINE_PX))
        return
    columns, rows = int(sys.argv[1]), int(sys.argv[2])
    lines = sys.stdin.read().split("\n")[:rows]
    lines += [""] * (rows - len(lines))
    style = Style()
    body = "\n".join(render_line(line, style, columns) for line in lines)
    print("""<!doctype html>
<meta charset="utf-8">
<style>
html, body { margin: 0; background: %(background)s; }
pre {
  margin: 0; padding: %(padding)dpx; width: %(width)dch; color: %(foreground)s;
  font: %(font)dpx/%(line)dpx "DejaVu Sans Mono", monospace;
}
.c { display: inline-block; width: 1ch; overflow: visible; }
</style>
<pre>%(body)s</pre>""" % {
        "background": BACKGROUND,
        "foreground": FOREGROUND,
        "padding": PADDING_PX,
        "width": columns,
        "font": FONT_PX,
        "line": LINE_PX,
        "body": body,
    })


if __name__ == "__main__":
    main()
