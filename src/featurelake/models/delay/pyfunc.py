"""The delay model as an MLflow pyfunc: the network and its preprocessing state, loaded as one.

``mlflow.pyfunc.load_model("models:/delay@champion").predict(frame)`` answers
P(arr_delay > 15) for a frame with the model's feature columns and ``event_timestamp``,
the same numbers :func:`featurelake.models.delay.score.predict` gives. featurelake itself
unwraps it (``unwrap_python_model()``) to call the network on Arrow data with no pandas
round trip on the serving path.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from mlflow.pyfunc import PythonModel

from featurelake.models.delay.features import CATEGORICAL, NUMERIC, Preprocessor

__all__ = ["ARTIFACTS", "DelayPyfunc", "pyfunc_frame", "signature"]

_Layer = tuple[str, "np.ndarray | None", "np.ndarray | None"]
"""One step of the network in numpy: ``("linear", weight, bias)`` or ``("relu", None, None)``."""

ARTIFACTS = {"weights": "model.pt", "preprocessor": "preprocessor.json"}
"""Artifact key -> file name inside the logged model."""


class DelayPyfunc(PythonModel):
    """Loads ``model.pt`` and ``preprocessor.json`` from the logged model's artifacts."""

    net: Any = None
    preprocessor: Preprocessor | None = None

    def load_context(self, context: Any) -> None:
        """Build the network from its saved state, on the CPU."""
        import torch

        from featurelake.models.delay.net import DelayNet

        state = torch.load(context.artifacts["weights"], map_location="cpu", weights_only=True)
        net = DelayNet(state["numeric_width"], state["vocab_sizes"])
        net.load_state_dict(state["state_dict"])
        net.eval()
        self.net = net
        with open(context.artifacts["preprocessor"]) as f:
            self.preprocessor = Preprocessor.from_json(f.read())

    @functools.cached_property
    def _layers(
        self,
    ) -> tuple[list[np.ndarray], list[tuple[str, np.ndarray | None, np.ndarray | None]]] | None:
        """The network's weights as numpy arrays, for :meth:`predict_one`; None when a layer is one
        this evaluator does not know (the network then runs in torch)."""
        from torch import nn

        assert self.net is not None
        embeddings = [e.weight.detach().numpy().astype(np.float64) for e in self.net.embeddings]
        layers: list[tuple[str, np.ndarray | None, np.ndarray | None]] = []
        for m in self.net.mlp:
            if isinstance(m, nn.Linear):
                layers.append(
                    ("linear", m.weight.detach().numpy().T.astype(np.float64), m.bias.detach().numpy())
                )
            elif isinstance(m, nn.ReLU):
                layers.append(("relu", None, None))
            elif isinstance(m, nn.Dropout):
                continue  # identity at inference
            else:
                return None
        return embeddings, layers

    def predict_one(self, numeric: np.ndarray, cats: np.ndarray) -> float:
        """P(delayed) for one preprocessed row (``Preprocessor.transform_one``): the serving path.

        The same arithmetic as the torch network, in numpy (in double precision): for one row,
        torch's per-operator dispatch costs more than the arithmetic itself.
        """
        if self._layers is None:
            import torch

            assert self.net is not None
            with torch.inference_mode():
                return float(torch.sigmoid(self.net(torch.from_numpy(numeric), torch.from_numpy(cats)))[0])
        embeddings, layers = self._layers
        x = np.concatenate(
            [numeric[0].astype(np.float64), *(e[c] for e, c in zip(embeddings, cats[0], strict=True))]
        )
        for kind, w, b in layers:
            x = x @ w + b if kind == "linear" else np.maximum(x, 0.0)
        return float(1.0 / (1.0 + np.exp(-x[0])))

    def predict_arrow(self, rows: pa.Table) -> np.ndarray:
        """P(delayed) for Arrow rows with the feature columns and ``event_timestamp``."""
        import torch

        from featurelake.models.delay.features import add_context

        if self.preprocessor is None or self.net is None:
            raise RuntimeError("DelayPyfunc.predict before load_context")
        if "dep_hour_utc" not in rows.column_names:
            rows = add_context(rows)
        numeric, cats = self.preprocessor.transform(rows)
        with torch.no_grad():
            logits = self.net(torch.from_numpy(numeric), torch.from_numpy(cats))
        return torch.sigmoid(logits).numpy().astype(np.float64)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> np.ndarray:
        """MLflow's entry point: a pandas frame in (:func:`pyfunc_frame`; naive times are UTC),
        probabilities out."""
        table = pa.Table.from_pandas(model_input, preserve_index=False)
        ts = table.column("event_timestamp")
        if not pa.types.is_timestamp(ts.type) or ts.type.tz is None:
            table = table.set_column(
                table.column_names.index("event_timestamp"),
                "event_timestamp",
                ts.cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
            )
        return self.predict_arrow(table)


def pyfunc_frame(rows: pa.Table) -> Any:
    """The pandas frame the pyfunc takes for these rows: its input columns, every feature as a
    double (counts such as ``flights_7d`` come from the store as integers; nulls become NaN) and
    ``event_timestamp`` as naive UTC (MLflow's ``datetime`` type has no time zone)."""
    columns = {name: rows.column(name).cast(pa.float64()) for name in NUMERIC}
    columns |= {name: rows.column(name) for name in CATEGORICAL}
    columns["event_timestamp"] = rows.column("event_timestamp").cast(pa.timestamp("us"))
    return pa.table(columns).to_pandas()


def signature() -> Any:
    """Inputs: the feature columns and the scheduled departure; output: the delay probability."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema, TensorSpec

    columns: list[ColSpec | TensorSpec] = [ColSpec("double", name) for name in NUMERIC]
    columns += [ColSpec("string", name) for name in CATEGORICAL]
    columns.append(ColSpec("datetime", "event_timestamp"))
    output: list[ColSpec | TensorSpec] = [ColSpec("double", "delay_probability")]
    return ModelSignature(inputs=Schema(columns), outputs=Schema(output))
