"""historical_fetch: every 6 hours, fetch the bars of the interval that just ended, validate them, write them to the store.

Each task runs the Breadboard CLI (`breadboard batch fetch|validate|write --run-id RUN_ID`); the steps hand over
through data/staging/RUN_ID, so all three must see the same data directory.

Two modes, chosen by the environment variable BREADBOARD_AIRFLOW_MODE where the DAG is parsed:
  kubernetes (default): each task is a pod of the Breadboard image (KubernetesPodOperator), settings from a
                        ConfigMap and a Secret, data/ on a PersistentVolumeClaim shared by the three pods.
  bash:                 each task runs `breadboard` from PATH on the worker (BashOperator): a local Airflow.
The mode is an environment variable, not an Airflow Variable, because it changes the DAG's structure and reading
a Variable at parse time costs a metadata-database query on every parse of the file.

Written for Airflow 2.4+ (the `schedule=` argument; `schedule_interval` is deprecated since 2.4) and
apache-airflow-providers-cncf-kubernetes 7.x+ (the module `operators.pod`; providers before that named it
`operators.kubernetes_pod`). Not run here: Airflow is not installed; tests/airflow/check_dag.py checks the structure.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
from datetime import timedelta

import pendulum
from airflow import DAG

log = logging.getLogger(__name__)

MODE = os.environ.get("BREADBOARD_AIRFLOW_MODE", "kubernetes")

# Where and how the pods run (kubernetes mode), read at parse time: they shape the operators, not one run.
IMAGE = os.environ.get("BREADBOARD_IMAGE", "breadboard:latest")
NAMESPACE = os.environ.get("BREADBOARD_NAMESPACE", "breadboard")
CONFIG_MAP = os.environ.get("BREADBOARD_CONFIG_MAP", "breadboard-config")  # BREADBOARD_STORE, BREADBOARD_ALERTS, …
SECRET = os.environ.get("BREADBOARD_SECRET", "breadboard-secrets")  # BREADBOARD_CLICKHOUSE_PASSWORD, provider keys, …
DATA_PVC = os.environ.get("BREADBOARD_DATA_PVC", "breadboard-data")
DATA_MOUNT = os.environ.get("BREADBOARD_DATA_MOUNT", "/data")  # the pods' --staging is DATA_MOUNT/staging

# Bash mode: the working directory of the CLI, where ./data (staging, a DuckDB store) lives. BashOperator would
# otherwise run each task in a new temporary directory, and validate would not find what fetch staged.
HOME = os.path.expanduser(os.environ.get("BREADBOARD_HOME", "~/breadboard"))

# What to fetch, read when a run starts: a manual trigger's params win, then the Airflow Variables, then the defaults.
# (Double quotes inside the templates: bash mode wraps each argument in single quotes.)
SYMBOLS = '{{ params.symbols or var.value.get("breadboard_symbols", "BTC-USD,ETH-USD") }}'
INTERVAL = '{{ params.interval or var.value.get("breadboard_interval", "1m") }}'
PROVIDER = '{{ params.provider or var.value.get("breadboard_provider", "binance") }}'

# A run fetches exactly its data interval: [start, end) of the 6 hours that closed when it was scheduled.
FROM = "{{ data_interval_start.isoformat() }}"
TO = "{{ data_interval_end.isoformat() }}"


def publish_batch_failed(context):
    """on_failure_callback: raises alerts.batch_failed for the task through `breadboard alerts publish`.

    Airflow calls this once the task has failed for good (after its retries). The alert id is built from the rule,
    dag/task and the run's data interval end, never the wall clock, so a callback that fires twice for the same
    run (a cleared task failing again, a zombie's callback) publishes one alert: NATS drops the repeated
    Nats-Msg-Id within its duplicate window and readers key on the id beyond it.
    """
    ti = context["ti"]
    argv = [
        "breadboard", "alerts", "publish",
        "--rule", "batch_failed",
        "--symbol", f"{ti.dag_id}/{ti.task_id}",
        # As Airflow reports it in a failure callback (before 2.10 it may already count the next try).
        "--value", str(ti.try_number),
        "--threshold", str(ti.max_tries + 1),
        "--ts", context["data_interval_end"].isoformat(),
    ]
    # A callback runs in the Airflow worker (or, for a task that died, in the DAG processor), not in a task pod,
    # and an operator cannot be scheduled from it. So: the CLI from PATH when the Airflow image has it (always in
    # bash mode), else in kubernetes mode a one-off pod of the Breadboard image run synchronously from here with the
    # same ConfigMap/Secret, so BREADBOARD_ALERTS is the one the tasks use. A failing callback is only logged by
    # Airflow, so failures are logged here with the CLI's own error line.
    if shutil.which("breadboard") is not None or MODE == "bash":
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            log.error("alerts.batch_failed not published: %s", e)
            return
        if done.returncode != 0:
            log.error("alerts.batch_failed not published (exit %s): %s", done.returncode, done.stderr.strip())
        else:
            log.info("alerts.batch_failed published: %s", done.stdout.strip())
        return

    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    KubernetesPodOperator(
        task_id=f"{ti.task_id}_batch_failed_alert",
        name="breadboard-alert",
        image=IMAGE,
        namespace=NAMESPACE,
        arguments=argv[1:],
        env_from=_env_from(),
        # The pod labels come from the failed task's instance: never re-attach to that task's own pod.
        reattach_on_restart=False,
        do_xcom_push=False,
        get_logs=True,
    ).execute(context)


def _env_from():
    from kubernetes.client import models as k8s

    return [
        k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name=CONFIG_MAP)),
        k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=SECRET, optional=True)),
    ]


def breadboard_task(task_id, argv):
    """One step: `argv` (starting with "breadboard") in a Breadboard pod, or from PATH in bash mode."""
    if MODE == "bash":
        from airflow.operators.bash import BashOperator

        # Quoted for the shell before Jinja renders it: the values come from Variables and trigger params.
        return BashOperator(task_id=task_id, bash_command=" ".join(shlex.quote(a) for a in argv), cwd=HOME)

    from kubernetes.client import models as k8s
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    return KubernetesPodOperator(
        task_id=task_id,
        name=f"breadboard-{task_id.replace('_', '-')}",
        image=IMAGE,
        namespace=NAMESPACE,
        # The image's entrypoint is the CLI, so only its arguments are given; staging goes on the shared claim
        # whatever the image's working directory.
        arguments=argv[1:] + ["--staging", f"{DATA_MOUNT}/staging"],
        env_from=_env_from(),
        # One claim for the three pods (staging lives under data/staging/RUN_ID): they run one after another, so
        # ReadWriteOnce works, at the cost of a volume re-attach when the next pod lands on another node.
        volumes=[k8s.V1Volume(name="data", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=DATA_PVC))],
        volume_mounts=[k8s.V1VolumeMount(name="data", mount_path=DATA_MOUNT)],
        do_xcom_push=False,
        get_logs=True,
    )


default_args = {
    "owner": "breadboard",
    "retries": 3,
    "retry_delay": timedelta(minutes=5),
    # Waits of 5-10, 10-20 and 20-30 minutes (Airflow doubles the delay per try, adds up to as much again as
    # jitter, and caps it at max_retry_delay): a provider that is rate-limiting or down gets room to recover, and
    # the worst case, about an hour of waiting, still ends well inside the 6-hour schedule.
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "on_failure_callback": publish_batch_failed,
}

with DAG(
    dag_id="historical_fetch",
    description="Fetch the last 6 hours of OHLCV bars, validate them, write them to the store.",
    default_args=default_args,
    schedule="0 */6 * * *",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    # Runs must not overlap: a late run and the next one would otherwise write the same store concurrently.
    max_active_runs=1,
    params={"symbols": "", "interval": "", "provider": ""},
    tags=["breadboard", "batch", "market-data"],
) as dag:
    fetch_symbols = breadboard_task(
        "fetch_symbols",
        ["breadboard", "batch", "fetch", "--run-id", "{{ run_id }}",
         "--symbols", SYMBOLS, "--from", FROM, "--to", TO, "--interval", INTERVAL, "--provider", PROVIDER],
    )
    validate_data = breadboard_task("validate_data", ["breadboard", "batch", "validate", "--run-id", "{{ run_id }}"])
    write_clickhouse = breadboard_task("write_clickhouse", ["breadboard", "batch", "write", "--run-id", "{{ run_id }}"])

    fetch_symbols >> validate_data >> write_clickhouse
