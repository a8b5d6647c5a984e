"""The delay model's training, split, metrics and artifacts on a purpose-built sample."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from delay_sample import VERSIONS, sample
from delay_sample import train as _train

from featurelake.catalog import Catalog
from featurelake.errors import FeaturelakeError
from featurelake.models import list_versions, promote, resolve, rollback
from featurelake.models.delay.features import NUMERIC, Preprocessor, add_context
from featurelake.models.delay.metrics import log_loss, roc_auc
from featurelake.models.delay.pyfunc import pyfunc_frame
from featurelake.models.delay.score import load_model, predict
from featurelake.models.delay.train import Epoch, split_by_time
from featurelake.models.tracking import tracking_uri


def test_metrics_match_their_definitions() -> None:
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert roc_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(0.5)
    assert log_loss(np.array([1, 0]), np.array([0.8, 0.2])) == pytest.approx(-np.log(0.8))
    with pytest.raises(ValueError, match="both"):
        roc_auc(np.array([1, 1]), np.array([0.2, 0.3]))


def test_time_split_has_no_overlap() -> None:
    table = sample(2000)
    train, valid = split_by_time(table, dt.date(2013, 4, 1))
    assert train.num_rows + valid.num_rows == table.num_rows
    assert pc.max(train.column("event_timestamp")).as_py() < dt.datetime(2013, 4, 1, tzinfo=dt.UTC)
    assert pc.min(valid.column("event_timestamp")).as_py() >= dt.datetime(2013, 4, 1, tzinfo=dt.UTC)


def test_preprocessor_fills_nulls_and_maps_unseen_categories() -> None:
    table = add_context(sample(500))
    pre = Preprocessor().fit(table)
    numeric, cats = pre.transform(table)
    assert cats.shape == (500, 3)
    assert numeric.shape == (500, pre.numeric_width)
    assert not np.isnan(numeric).any()
    i = pre.columns.index("dep_delay_avg_7d")
    nulls = pc.is_null(table.column("dep_delay_avg_7d"), nan_is_null=True).to_numpy(zero_copy_only=False)
    assert (numeric[:, 2 * i + 1] == nulls).all()
    other = table.set_column(table.column_names.index("dest"), "dest", pa.array(["XXX"] * 500))
    assert (pre.transform(other)[1][:, 2] == 0).all()
    assert Preprocessor.from_json(pre.to_json()) == pre


def test_training_beats_baselines_and_logs_an_mlflow_run_with_lineage(catalog: Catalog) -> None:
    from mlflow import MlflowClient

    rows = add_context(sample())
    epochs: list[Epoch] = []
    first = _train(catalog, rows, on_epoch=epochs.append)
    # each epoch was reported as it ended, with the holdout loss early stopping decided on
    assert [e.epoch for e in epochs] == list(range(1, len(epochs) + 1))
    assert [round(e.holdout_log_loss, 6) for e in epochs] == first.metrics["training"]["model"][
        "holdout_log_loss_by_epoch"
    ]
    assert all(0.5 < e.holdout_auc <= 1 and e.train_loss > 0 for e in epochs)
    v = first.metrics["validation"]
    assert v["model"]["auc"] > v["base_rate"]["auc"] + 0.1
    assert v["model"]["log_loss"] < v["base_rate"]["log_loss"]
    # the first version of a model is its champion
    assert (first.version, first.alias) == ("1", "champion")
    registered = resolve("delay", "champion", catalog.settings)
    assert registered.version == "1"
    assert registered.lineage["feature_service"] == "delay_model_v1"
    assert registered.lineage["tables"] == VERSIONS
    assert registered.lineage["train_range"] == ["2013-01-01", "2013-04-01"]
    assert registered.lineage["validation_range"] == ["2013-04-01", "2013-05-01"]
    assert set(NUMERIC) <= set(registered.lineage["features"])
    # the run, as MLflow itself shows it: parameters, metrics of the model and both baselines,
    # and one dataset input per Delta table at the version read
    run = MlflowClient(tracking_uri(catalog.settings)).get_run(first.run_id)
    assert run.data.params["feature_service"] == "delay_model_v1"
    assert run.data.params["valid_from"] == "2013-04-01"
    for name in ("model", "base_rate", "logistic_regression"):
        assert run.data.metrics[f"valid_{name}_auc"] == pytest.approx(v[name]["auc"])
        assert run.data.metrics[f"valid_{name}_log_loss"] == pytest.approx(v[name]["log_loss"])
    inputs = {
        (d.dataset.name, json.loads(d.dataset.source)["delta_table_version"], d.dataset.source_type)
        for d in run.inputs.dataset_inputs
        if any(t.key == "mlflow.data.context" and t.value == "training" for t in d.tags)
    }
    assert inputs == {
        ("gold.flight_labels@v4", 4, "delta_table"),
        ("gold.carrier_delay_7d@v2", 2, "delta_table"),
    }
    # deterministic for a fixed seed: a second run gives the same metrics, as version 2, the challenger
    second = _train(catalog, rows)
    assert (second.version, second.alias) == ("2", "challenger")
    assert second.metrics["validation"] == first.metrics["validation"]
    assert [(m.version, m.aliases) for m in list_versions("delay", catalog.settings)] == [
        ("1", ("champion",)),
        ("2", ("challenger",)),
    ]


def test_the_registered_pyfunc_predicts_what_scoring_predicts(catalog: Catalog) -> None:
    """MLflow's own loader (pandas in) and featurelake's (Arrow in) give the same probabilities."""
    import mlflow.pyfunc

    from featurelake.models.tracking import tracking

    rows = add_context(sample())
    _train(catalog, rows)
    model = load_model(catalog=catalog)
    ours = predict(model, rows.slice(0, 200))
    with tracking(catalog.settings):
        theirs = mlflow.pyfunc.load_model("models:/delay@champion").predict(pyfunc_frame(rows.slice(0, 200)))
    assert ours.shape == (200,)
    # the serving path: one row at a time, the network in numpy
    one = [
        model.model.predict_one(*model.preprocessor.transform_one(row))
        for row in rows.slice(0, 200).to_pylist()
    ]
    assert np.allclose(one, ours, atol=1e-6)
    assert np.allclose(np.asarray(theirs, dtype=np.float64).ravel(), ours, atol=1e-7)
    assert 0 < ours.min() < ours.max() < 1


def test_promote_and_rollback_move_the_aliases(catalog: Catalog) -> None:
    rows = add_context(sample(3000))
    for _ in range(3):
        _train(catalog, rows)

    def aliases() -> dict[str, tuple[str, ...]]:
        return {v.version: v.aliases for v in list_versions("delay", catalog.settings)}

    assert aliases() == {"1": ("champion",), "2": (), "3": ("challenger",)}
    promote("delay", "3", "champion", catalog.settings)  # the challenger wins: it is no longer challenger
    assert aliases() == {"1": (), "2": (), "3": ("champion",)}
    promote("delay", "v2", "challenger", catalog.settings)
    assert aliases() == {"1": (), "2": ("challenger",), "3": ("champion",)}
    assert load_model(catalog=catalog).version.version == "3"
    with pytest.raises(FeaturelakeError, match="version 3 is the champion"):
        promote("delay", "3", "challenger", catalog.settings)
    assert rollback("delay", catalog.settings) == ("3", "1")
    assert load_model(catalog=catalog).version.version == "1"
    with pytest.raises(FeaturelakeError, match="nothing to roll back to"):
        rollback("delay", catalog.settings)
    with pytest.raises(FeaturelakeError, match=r"no version or alias '7'; it has 1@champion, 2@chall"):
        resolve("delay", "7", catalog.settings)


def test_no_model_is_a_clear_error(catalog: Catalog) -> None:
    with pytest.raises(FeaturelakeError, match="no trained model 'delay'"):
        load_model(catalog=catalog)
    assert list_versions(settings=catalog.settings) == []
    assert not (catalog.settings.lake / "mlflow").exists()  # reading created no store


def test_one_row_transform_matches_the_columnar_one() -> None:
    """The serving path (a dict per request) feeds the network exactly what training fed it."""
    table = add_context(sample(300))
    pre = Preprocessor().fit(table.slice(0, 200))
    numeric, cats = pre.transform(table)
    rows = table.to_pylist()
    rows[5]["dest"] = "XXX"  # unseen category
    rows[5]["dep_delay_avg_7d"] = None
    rows[6]["dep_delay_avg_7d"] = float("nan")
    numeric[5], cats[5] = (m[0] for m in pre.transform(pa.Table.from_pylist([rows[5]], table.schema)))
    numeric[6], cats[6] = (m[0] for m in pre.transform(pa.Table.from_pylist([rows[6]], table.schema)))
    for i, row in enumerate(rows):
        one_numeric, one_cats = pre.transform_one(row)
        assert np.array_equal(one_numeric[0], numeric[i]), i
        assert np.array_equal(one_cats[0], cats[i]), i
    assert pre.transform_one(rows[5])[1][0, 2] == 0
