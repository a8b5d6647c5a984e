"""Training the delay model: time split, deterministic training, honest evaluation, an MLflow run.

Rows before ``valid_from`` train (the last tenth of them, by time, decides
when to stop); rows from ``valid_from`` on are only ever used to report the
metrics, for the model and for two baselines: the training base rate, and a
logistic regression on the same inputs. Nothing is shuffled across time.
"""

from __future__ import annotations

import datetime as dt
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from featurelake.catalog import Catalog
from featurelake.errors import FeaturelakeError
from featurelake.models.delay.data import LABEL_TABLE, model_rows
from featurelake.models.delay.features import (
    CATEGORICAL,
    CONTEXT,
    FEATURE_SERVICE,
    LABEL,
    MODEL_NAME,
    NUMERIC,
    Preprocessor,
)
from featurelake.models.delay.metrics import log_loss, roc_auc

__all__ = [
    "MODEL_NAME",
    "Epoch",
    "LoggedRun",
    "TrainConfig",
    "TrainResult",
    "log_training_run",
    "split_by_time",
    "train_delay_model",
]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; the defaults train January to September in about a minute on 2 CPU cores."""

    seed: int = 13
    epochs: int = 8
    batch_size: int = 4096
    learning_rate: float = 2e-3
    patience: int = 2
    device: str | None = None
    """``cuda``, ``cpu``, or None for CUDA when available."""


@dataclass(frozen=True)
class Epoch:
    """One pass over the training rows, as it ends (what ``on_epoch`` receives)."""

    epoch: int
    """1-based."""
    epochs: int
    train_loss: float
    """Mean binary cross-entropy of the pass's mini-batches."""
    holdout_log_loss: float
    holdout_auc: float
    """On the last tenth of the training rows by time (early stopping's holdout), never validation."""
    seconds: float


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    version: str
    """The registered model version (MLflow's number, as text)."""
    run_id: str
    """The MLflow run that logged it."""
    alias: str
    """The alias it was given: ``champion`` for a model's first version, else ``challenger``."""
    metrics: dict[str, Any]


def split_by_time(table: pa.Table, valid_from: dt.date) -> tuple[pa.Table, pa.Table]:
    """Rows strictly before ``valid_from`` (UTC midnight) and rows from it on."""
    cut = pa.scalar(
        dt.datetime.combine(valid_from, dt.time(), tzinfo=dt.UTC), table.column("event_timestamp").type
    )
    before = pc.less(table.column("event_timestamp"), cut)
    return table.filter(before), table.filter(pc.invert(before))


def _device(config: TrainConfig) -> Any:
    import torch

    if config.device:
        return torch.device(config.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _tensors(pre: Preprocessor, table: pa.Table, device: Any) -> tuple[Any, Any, Any]:
    import torch

    numeric, cats = pre.transform(table)
    labels = pc.cast(table.column(LABEL), pa.float32()).to_numpy(zero_copy_only=False)
    return (
        torch.from_numpy(numeric).to(device),
        torch.from_numpy(cats).to(device),
        torch.from_numpy(np.array(labels, dtype=np.float32)).to(device),
    )


def _predict(model: Any, numeric: Any, cats: Any, batch: int = 65536) -> np.ndarray:
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, numeric.shape[0], batch):
            out.append(torch.sigmoid(model(numeric[i : i + batch], cats[i : i + batch])).cpu().numpy())
    return np.concatenate(out) if out else np.empty(0, dtype=np.float32)


def _fit(
    model: Any,
    train: tuple[Any, Any, Any],
    stop: tuple[Any, Any, Any],
    config: TrainConfig,
    on_epoch: Callable[[Epoch], None] | None = None,
) -> dict[str, Any]:
    """Mini-batch Adam with early stopping on the time-ordered holdout ``stop``."""
    import torch

    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    numeric, cats, labels = train
    best, best_state, waited, history = float("inf"), None, 0, []
    for epoch in range(config.epochs):
        began = time.monotonic()
        model.train()
        order = torch.randperm(numeric.shape[0], generator=generator).to(numeric.device)
        losses = []
        for i in range(0, numeric.shape[0], config.batch_size):
            idx = order[i : i + config.batch_size]
            optimiser.zero_grad()
            loss = loss_fn(model(numeric[idx], cats[idx]), labels[idx])
            loss.backward()
            optimiser.step()
            losses.append(loss.detach())
        stop_p = _predict(model, stop[0], stop[1])
        stop_y = stop[2].cpu().numpy()
        stop_loss = log_loss(stop_y, stop_p)
        history.append(round(stop_loss, 6))
        if on_epoch is not None:
            on_epoch(
                Epoch(
                    epoch + 1,
                    config.epochs,
                    float(torch.stack(losses).mean().item()) if losses else float("nan"),
                    stop_loss,
                    roc_auc(stop_y, stop_p),
                    time.monotonic() - began,
                )
            )
        if stop_loss < best - 1e-5:
            best, waited = stop_loss, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= config.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"epochs_run": len(history), "holdout_log_loss_by_epoch": history}


def _fit_logistic(model: Any, train: tuple[Any, Any, Any], l2: float = 1e-4) -> dict[str, Any]:
    """Full-batch L-BFGS to convergence: the baseline gets its best shot, not a fixed epoch budget."""
    import torch

    numeric, cats, labels = train
    optimiser = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=200, line_search_fn="strong_wolfe")
    loss_fn = torch.nn.BCEWithLogitsLoss()
    steps = {"n": 0}

    def closure() -> Any:
        optimiser.zero_grad()
        loss = loss_fn(model(numeric, cats), labels) + l2 * sum((p**2).sum() for p in model.parameters())
        loss.backward()
        steps["n"] += 1
        return loss

    model.train()
    optimiser.step(closure)
    return {"optimizer": "lbfgs", "function_evaluations": steps["n"]}


def train_delay_model(
    start: dt.date,
    end: dt.date,
    *,
    valid_from: dt.date,
    config: TrainConfig | None = None,
    catalog: Catalog | None = None,
    rows: pa.Table | None = None,
    table_versions: dict[str, int] | None = None,
    on_epoch: Callable[[Epoch], None] | None = None,
) -> TrainResult:
    """Train on labelled flights in [start, valid_from), evaluate on [valid_from, end), register a version.

    The run is logged to MLflow (:func:`log_training_run`) and registered as a new version of
    model ``delay``: ``champion`` when it is the first, ``challenger`` otherwise.

    Args:
        start: first day of training data.
        end: day after the last validation day.
        valid_from: first validation day; every training row is strictly earlier.
        config: hyper-parameters.
        catalog: the lake (default: from the environment).
        rows: a prepared training set (tests); read through the feature store when None.
        table_versions: lineage of ``rows`` when given.
        on_epoch: called as each epoch of the model ends (loss, holdout loss and AUC).

    Raises:
        FeaturelakeError: the split leaves either side empty or with a single class.
    """
    import torch

    from featurelake.models.delay.net import DelayNet, LogisticBaseline

    config = config or TrainConfig()
    catalog = catalog or Catalog()
    if not start < valid_from < end:
        raise ValueError(f"need start < valid_from < end, got {start}, {valid_from}, {end}")
    began = time.monotonic()
    if rows is None:
        loaded = model_rows(start, end, labelled_only=True, catalog=catalog)
        rows, table_versions = loaded.table, loaded.table_versions
    train_all, valid = split_by_time(rows, valid_from)
    if train_all.num_rows < 100 or valid.num_rows < 100:
        raise FeaturelakeError(
            f"too few labelled rows to train ({train_all.num_rows}) or validate ({valid.num_rows}) "
            f"for {start}..{end} split at {valid_from}; is gold.flight_labels built for that range?"
        )
    cut = int(train_all.num_rows * 0.9)
    fit_rows, stop_rows = train_all.slice(0, cut), train_all.slice(cut)

    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(True)
    device = _device(config)
    pre = Preprocessor().fit(fit_rows)
    fit_t, stop_t, valid_t = (_tensors(pre, t, device) for t in (fit_rows, stop_rows, valid))
    y_valid = valid_t[2].cpu().numpy()

    base_rate = float(fit_t[2].mean().item())
    results: dict[str, dict[str, float]] = {
        "base_rate": {"auc": 0.5, "log_loss": log_loss(y_valid, np.full(y_valid.shape, base_rate))}
    }
    training_notes = {}
    models = {
        "logistic_regression": LogisticBaseline(pre.numeric_width, pre.vocab_sizes),
        "model": DelayNet(pre.numeric_width, pre.vocab_sizes),
    }
    for name, net in models.items():
        torch.manual_seed(config.seed)
        net.to(device)
        if name == "logistic_regression":
            training_notes[name] = _fit_logistic(net, fit_t)
        else:
            training_notes[name] = _fit(net, fit_t, stop_t, config, on_epoch)
        p = _predict(net, valid_t[0], valid_t[1])
        results[name] = {"auc": roc_auc(y_valid, p), "log_loss": log_loss(y_valid, p)}

    ts = rows.column("event_timestamp")
    lineage = {
        "feature_service": FEATURE_SERVICE,
        "features": NUMERIC,
        "context_features": CONTEXT,
        "categorical_features": CATEGORICAL,
        "label": f"{LABEL_TABLE}.{LABEL}",
        "tables": table_versions or {},
        "train_range": [start.isoformat(), valid_from.isoformat()],
        "validation_range": [valid_from.isoformat(), end.isoformat()],
        "rows": {"fit": fit_rows.num_rows, "early_stop": stop_rows.num_rows, "validation": valid.num_rows},
        "event_timestamp_range": [str(pc.min(ts).as_py()), str(pc.max(ts).as_py())],
        "seed": config.seed,
        "torch": torch.__version__,
        "device": str(device),
        "python": platform.python_version(),
        "trained_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    metrics = {
        "validation": results,
        "base_rate_train": base_rate,
        "training": training_notes,
        "seconds": round(time.monotonic() - began, 1),
        "model_beats_baselines": all(
            results["model"]["auc"] > results[b]["auc"] for b in ("base_rate", "logistic_regression")
        ),
    }
    logged = log_training_run(
        models["model"],
        pre,
        config,
        metrics,
        lineage,
        catalog,
        run_name=f"delay {start}..{end}",
        example=fit_rows.slice(0, 5),
    )
    return TrainResult(logged.version, logged.run_id, logged.alias, metrics)


@dataclass(frozen=True)
class LoggedRun:
    """What :func:`log_training_run` recorded."""

    run_id: str
    version: str
    alias: str


def _flat_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    flat = {f"valid_{name}_{k}": float(v) for name, m in metrics["validation"].items() for k, v in m.items()}
    flat["base_rate_train"] = float(metrics["base_rate_train"])
    flat["train_seconds"] = float(metrics["seconds"])
    return flat


def _params(config: TrainConfig, lineage: dict[str, Any]) -> dict[str, Any]:
    return {
        "seed": config.seed,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "patience": config.patience,
        "device": lineage["device"],
        "feature_service": lineage["feature_service"],
        "label": lineage["label"],
        "train_from": lineage["train_range"][0],
        "valid_from": lineage["validation_range"][0],
        "valid_to": lineage["validation_range"][1],
        "rows_fit": lineage["rows"]["fit"],
        "rows_early_stop": lineage["rows"]["early_stop"],
        "rows_validation": lineage["rows"]["validation"],
    }


def log_training_run(
    net: Any,
    pre: Preprocessor,
    config: TrainConfig,
    metrics: dict[str, Any],
    lineage: dict[str, Any],
    catalog: Catalog,
    *,
    run_name: str,
    example: pa.Table,
) -> LoggedRun:
    """Log one training run to MLflow and register its model as a new version of ``delay``.

    The run holds the parameters, the validation metrics of the model and both baselines (and
    the early-stopping loss per epoch), one dataset input per Delta table at the version read,
    the metrics and lineage documents, and the model: a pyfunc of the network and its
    preprocessing state, with a signature and ``example`` (a few training rows) as its input example.
    """
    import tempfile
    from importlib import metadata
    from pathlib import Path

    import mlflow
    import torch
    from mlflow.data.delta_dataset_source import DeltaDatasetSource
    from mlflow.data.meta_dataset import MetaDataset

    from featurelake.models import tracking
    from featurelake.models.delay import mlflow_model
    from featurelake.models.delay.pyfunc import ARTIFACTS, pyfunc_frame, signature

    settings = catalog.settings
    with tracking.tracking(settings), tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        torch.save(
            {
                "state_dict": {k: v.cpu() for k, v in net.state_dict().items()},
                "numeric_width": pre.numeric_width,
                "vocab_sizes": pre.vocab_sizes,
            },
            folder / ARTIFACTS["weights"],
        )
        (folder / ARTIFACTS["preprocessor"]).write_text(pre.to_json())
        experiment = tracking.experiment_id(MODEL_NAME, settings)
        with mlflow.start_run(experiment_id=experiment, run_name=run_name) as run:
            mlflow.log_params(_params(config, lineage))
            mlflow.log_metrics(_flat_metrics(metrics))
            for step, loss in enumerate(metrics["training"]["model"]["holdout_log_loss_by_epoch"], 1):
                mlflow.log_metric("holdout_log_loss", loss, step=step)
            for table, version in sorted(lineage["tables"].items()):
                source = DeltaDatasetSource(path=str(catalog.path(table)), delta_table_version=int(version))
                mlflow.log_input(
                    MetaDataset(source, name=f"{table}@v{version}"),  # type: ignore[abstract]
                    context="training",
                    tags={"table": table, "delta_version": str(version)},
                )
            mlflow.log_dict(metrics, tracking.METRICS_FILE)
            mlflow.log_dict(lineage, tracking.LINEAGE_FILE)
            mlflow.set_tags({"feature_service": lineage["feature_service"], "model": MODEL_NAME})
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(Path(mlflow_model.__file__)),
                artifacts={key: str(folder / file) for key, file in ARTIFACTS.items()},
                signature=signature(),
                input_example=pyfunc_frame(example),
                pip_requirements=[
                    f"mlflow=={mlflow.__version__}",
                    *(f"{p}=={metadata.version(p)}" for p in ("torch", "numpy", "pyarrow", "pandas")),
                ],
                registered_model_name=MODEL_NAME,
            )
    version = str(info.registered_model_version)
    c = tracking.client(settings)
    train, valid, model = lineage["train_range"], lineage["validation_range"], metrics["validation"]["model"]
    for key, value in {
        "auc": f"{model['auc']:.4f}",
        "log_loss": f"{model['log_loss']:.4f}",
        "train": f"{train[0]}..{train[1]}",
        "tables": ", ".join(f"{t}@v{n}" for t, n in sorted(lineage["tables"].items())),
        "feature_service": lineage["feature_service"],
    }.items():
        c.set_model_version_tag(MODEL_NAME, version, key, value)
    c.update_model_version(
        MODEL_NAME,
        version,
        description=(
            f"Trained {train[0]}..{train[1]}, validated {valid[0]}..{valid[1]}: "
            f"ROC AUC {model['auc']:.4f}, log loss {model['log_loss']:.4f}"
        ),
    )
    alias = tracking.register_new(MODEL_NAME, version, settings)
    return LoggedRun(run.info.run_id, version, alias)
