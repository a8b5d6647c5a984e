"""A Spark standalone cluster on this machine, from the installed pyspark (the prod profile's Spark).

``featurelake cluster up`` starts ``org.apache.spark.deploy.master.Master`` and
``...worker.Worker`` with pyspark's ``spark-class``; executors are separate JVMs
with their own Python workers, so whatever only works inside one JVM shows
up here before it reaches a real cluster.
"""

from __future__ import annotations

from featurelake.cluster.spec import DEFAULT_UI_PORT, ClusterSpec, default_run_dir
from featurelake.cluster.standalone import (
    ClusterState,
    cluster_down,
    cluster_status,
    cluster_up,
    load_state,
)
from featurelake.cluster.status import AppInfo, MasterState, WorkerInfo, fetch_master_state

__all__ = [
    "DEFAULT_UI_PORT",
    "AppInfo",
    "ClusterSpec",
    "ClusterState",
    "MasterState",
    "WorkerInfo",
    "cluster_down",
    "cluster_status",
    "cluster_up",
    "default_run_dir",
    "fetch_master_state",
    "load_state",
]
