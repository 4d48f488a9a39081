"""`costcalc report --explain-conventions`: per op, what each convention counts; for a spec, the FLOPs each
convention gives each op type, so a reader sees where two tools part ways."""

from __future__ import annotations

import io
import json

from rich.console import Console
from rich.table import Table

from costcalc.report.units import human

PIPED_WIDTH = 160


def render(explanation, model: str | None = None, exact: bool = False, width: int | None = None) -> str:
    lines = ["Conventions (FLOPs column under --convention NAME):"]
    names = [name for name, _, _ in explanation.conventions]
    pad = max(len(n) for n in names)
    for name, tool, summary in explanation.conventions:
        lines.append(f"  {name:<{pad}}  {summary}")
    lines.append("")
    lines.append("What each convention counts, per op, for one sample (an op called as a module, the default;")
    lines.append("then what changes when the spec writes it `call: functional`, a call module hooks never see):")
    for op, says in explanation.rules.items():
        lines.append(op)
        for name in names:
            lines.append(f"  {name:<{pad}}  {says[name]}")
        changed = (explanation.functional or {}).get(op, {})
        if changed:
            lines.append(f"  {op}, call: functional:")
            for name in names:
                if name in changed:
                    lines.append(f"    {name:<{pad}}  {changed[name]}")
            same = [name for name in names if name not in changed]
            if same:
                lines.append(f"    {', '.join(same)}: as above (the call does not change what they count)")
    text = "\n".join(lines) + "\n"
    if explanation.flops is None:
        return text
    h = lambda n: human(n, exact)  # noqa: E731
    table = Table(title=f"{model}: FLOPs by op type under each convention", show_footer=True, header_style="bold")
    table.add_column("Op", footer="total", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right", footer=h(explanation.totals[name]))
    for op, row in explanation.flops.items():
        table.add_row(op, *(h(row[name]) for name in names))
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or PIPED_WIDTH, color_system=None, no_color=True, highlight=False)
    console.print(table)
    return text + "\n" + buffer.getvalue()


def render_json(explanation, model: str | None = None) -> str:
    """{"conventions": {name: {"tool", "summary"}}, "rules": {op: {name: text}}, "functional_rules": {op: {name:
    text}} (under `call: functional`, the conventions it changes), and with a spec "model", "flops_by_op": {op, or
    "op (call: functional)": {name: int}}, "totals": {name: int}}."""
    doc = {
        "conventions": {name: {"tool": tool, "summary": summary} for name, tool, summary in explanation.conventions},
        "rules": explanation.rules,
        "functional_rules": explanation.functional or {},
    }
    if explanation.flops is not None:
        doc.update(model=model, flops_by_op=explanation.flops, totals=explanation.totals)
    return json.dumps(doc, indent=1) + "\n"
