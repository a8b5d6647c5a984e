"""The delay model as an MLflow pyfunc: the network and its preprocessing state, loaded as one.

``mlflow.pyfunc.load_model("models:/delay@champion").predict(frame)`` answers
P(arr_delay > 15) for a frame with the model's feature columns and ``event_timestamp``,
the same numbers :func:`featurelake.models.delay.score.predict` gives. featurelake itself
unwraps it (``unwrap_python_model()``) to call the network on Arrow data with no pandas
round trip on the serving path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from mlflow.pyfunc import PythonModel

from featurelake.models.delay.features import CATEGORICAL, NUMERIC, Preprocessor

__all__ = ["ARTIFACTS", "DelayPyfunc", "pyfunc_frame", "signature"]

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
