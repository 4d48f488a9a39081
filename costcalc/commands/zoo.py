"""`costcalc zoo`: the specs shipped with costcalc, each with its published and computed figures."""

from __future__ import annotations

import json

import click

from costcalc.cli import library_errors, output_options


def _figure(published, field: str):
    if published is None:
        return None
    return next((f for f in published.figures if f.field == field), None)


def _agreement(published) -> str:
    if published is None:
        return "-"
    if all(f.difference == 0 for f in published.figures):
        return "equal"
    return "within tolerance" if published.ok else "DIFFERS"


@click.command("zoo")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--exact", is_flag=True, help="Whole integers instead of K/M/G.")
def command(fmt, exact):
    """List the specs shipped with costcalc (every command takes their names: `costcalc report resnet50`), each
    with its computed params and FLOPs beside the published figures it cites."""
    from costcalc.api import zoo_reports
    from costcalc.report.as_json import published_dict
    from costcalc.report.layout import Column, box, fit
    from costcalc.report.units import human

    with library_errors():
        rows = zoo_reports()
    if fmt == "json":
        doc = [{"name": name, "model": report.model, "totals": {"params": report.totals.params,
                                                                "flops": report.totals.flops},
                "published": published_dict(published)} for name, report, published in rows]
        click.echo(json.dumps(doc, indent=1))
        return
    h = lambda n: human(n, exact)  # noqa: E731

    def published_cell(field):
        return lambda row: (lambda f: h(f.published) if f else "")(_figure(row[2], field))

    columns = [Column("Spec", lambda row: row[0], right=False, squeeze=True),
               Column("Params", lambda row: h(row[1].totals.params)),
               Column("published", published_cell("params"), short="publ."),
               Column("FLOPs", lambda row: h(row[1].totals.flops)),
               Column("published", published_cell("flops"), short="publ."),
               Column("Agreement", lambda row: _agreement(row[2]), right=False, short="Agr.")]
    options = output_options(exact)
    click.echo(f"{len(rows)} specs shipped with costcalc | FLOPs = conv + fc + matmul multiply-adds | "
               "published: the figures each spec's published: section cites")
    click.echo(box(fit(columns, rows, options.width or 160), options.color, footer=False), nl=False)
