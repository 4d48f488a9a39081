"""Lines of text the human reporters share: a header broken between its fields, a line broken between words at
the width, and the published figures beside the computed ones."""

from __future__ import annotations

import re

from costcalc.report.units import human, percent


def wrap_fields(text: str, width: int) -> str:
    """A header line of ' | '-separated fields, broken between fields to fit `width`; a field longer than the width
    alone (an imported model's name with the exporter's changes) broken between its words, 4 spaces in."""
    lines, current = [], ""
    for part in text.split(" | "):
        joined = f"{current} | {part}" if current else part
        if current and len(joined) > width:
            lines.append(current)
            current = "  " + part
        else:
            current = joined
    return "\n".join(wrap_text(line, width, 4) for line in lines + [current])


def wrap_text(text: str, width: int, indent: int, between=(" ",)) -> str:
    """`text` (a line, perhaps indented) broken to fit `width` at the separators `between` (after a space or ", ",
    before the "(" of " ("; ", " and " (" keep each clause, and the numbers in it, whole), continued `indent`
    spaces in; a part longer than the line (a layer's path) is never cut."""
    if len(text) <= width:
        return text
    lead = len(text) - len(text.lstrip(" "))
    body = text.lstrip(" ")
    cuts = sorted({m.start() + 1 if sep.startswith(" ") else m.end()  # after the space, or after ", "
                   for sep in between for m in re.finditer(re.escape(sep), body)})
    parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)]) if body[a:b]]
    lines, current = [], " " * lead + parts[0]
    for part in parts[1:]:
        if len((current + part).rstrip()) > width and current.strip():
            lines.append(current.rstrip())
            current = " " * indent + part
        else:
            current += part
    return "\n".join(lines + [current.rstrip()])


def published_text(published, exact: bool) -> str:
    """'published: params 25,557,032 = computed, flops 4.09G = computed (torchvision resnet50 ...)'; a figure that
    differs gives the computed one, the difference and the tolerance; '' when nothing is published."""
    if published is None:
        return ""
    parts = []
    for f in published.figures:
        same = exact or human(f.published) == human(f.computed)  # figures that read alike are shown whole
        h = lambda n: human(n, same)  # noqa: E731
        if f.difference == 0:
            parts.append(f"{f.field} {h(f.published)} = computed")
            continue
        allowed = f"within its tolerance {float(f.tolerance):.1%}" if f.ok else (
            f"beyond its tolerance {float(f.tolerance):.1%}" if f.tolerance else "published as exact")
        share = percent(f.relative)
        share = {"+0.00%": "+<0.01%", "-0.00%": "-<0.01%"}.get(share, share)
        parts.append(f"{f.field} {h(f.published)}, computed {h(f.computed)} ({share}, {allowed})")
    source = f" ({published.source})" if published.source else ""
    return f"published: {', '.join(parts)}{source}"
