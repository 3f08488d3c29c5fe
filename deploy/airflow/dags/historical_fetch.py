"""historical_fetch: every 6 hours, fetch the bars of the 6 hours that just ended, validate them, write them to the store.

Each step runs the Breadboard CLI (`breadboard batch fetch|validate|write --run-id RUN_ID`); the steps hand over
through data/staging/RUN_ID, so all three must see the same data directory. When a step has failed for good (after
its retries), the task batch_failed runs `breadboard alerts publish --rule batch_failed`; batch_done, a no-op after
write_clickhouse, keeps such a run marked failed.

Two modes, chosen by the environment variable BREADBOARD_AIRFLOW_MODE where the DAG is parsed:
  kubernetes (default): each task is a pod of the Breadboard image (KubernetesPodOperator), settings from a
                        ConfigMap and a Secret, data/ on a PersistentVolumeClaim shared by the three step pods.
  bash:                 each task runs `breadboard` from PATH on the worker (BashOperator): a local Airflow.
The mode is an environment variable, not an Airflow Variable, because it changes the DAG's structure and reading
a Variable at parse time costs a metadata-database query on every parse of the file.

Written for Airflow 2 (2.4 or later) and Airflow 3 alike, and apache-airflow-providers-cncf-kubernetes 7 or later.
Not run here: Airflow cannot be installed in this environment. tests/airflow/check_dag.py checks the structure and
tests/airflow/render_dag.py imports this file against stand-ins of the Airflow classes it uses, renders every
templated field with Jinja as Airflow does, and runs the bash-mode commands against a stand-in `breadboard`.
What each choice below rests on is cited from Airflow's sources (file, class or function) where it is made;
deploy/airflow/README.md has the whole list.
"""

from __future__ import annotations

import os
import re
import shlex
from datetime import datetime, timedelta, timezone

import pendulum
from jinja2 import pass_context

# Airflow 3 authors DAGs with the Task SDK (task-sdk/src/airflow/sdk/__init__.py lazily exports DAG); Airflow 2 has no
# airflow.sdk. (Airflow 3.0's airflow/__init__.py still maps `from airflow import DAG` to airflow.models.dag.)
try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

# CronDataIntervalTimetable: airflow/timetables/interval.py in 2.x, airflow-core/src/airflow/timetables/interval.py in
# 3.x. Given explicitly because Airflow 3 reads a cron *string* as a CronTriggerTimetable unless
# [scheduler] create_cron_data_intervals is True, and that setting's default became False in 3.0 (RELEASE_NOTES.rst,
# 3.0.0; task-sdk/src/airflow/sdk/definitions/dag.py, _create_timetable). A CronTriggerTimetable's runs have a
# zero-length data interval (airflow-core/src/airflow/timetables/trigger.py, _TriggerTimetable.next_dagrun_info:
# start = next_start_time - interval, interval defaulting to timedelta()), so `schedule="0 */6 * * *"` would make
# every Airflow 3 run fetch [t, t): nothing.
from airflow.timetables.interval import CronDataIntervalTimetable

MODE = os.environ.get("BREADBOARD_AIRFLOW_MODE", "kubernetes")

# Where and how the pods run (kubernetes mode), read at parse time: they shape the operators, not one run.
IMAGE = os.environ.get("BREADBOARD_IMAGE", "breadboard:latest")
NAMESPACE = os.environ.get("BREADBOARD_NAMESPACE", "breadboard")
CONFIG_MAP = os.environ.get("BREADBOARD_CONFIG_MAP", "breadboard-config")  # BREADBOARD_STORE, BREADBOARD_ALERTS, …
SECRET = os.environ.get("BREADBOARD_SECRET", "breadboard-secrets")  # BREADBOARD_CLICKHOUSE_PASSWORD, provider keys, …
DATA_PVC = os.environ.get("BREADBOARD_DATA_PVC", "breadboard-data")
DATA_MOUNT = os.environ.get("BREADBOARD_DATA_MOUNT", "/data")  # the step pods' --staging is DATA_MOUNT/staging

# Bash mode: the working directory of the CLI, where ./data (staging, a DuckDB store) lives. BashOperator would
# otherwise run each task in a new temporary directory, and validate would not find what fetch staged.
HOME = os.path.expanduser(os.environ.get("BREADBOARD_HOME", "~/breadboard"))

# Retries as the seed asks: 3, 5 minutes apart. `exponential` opts into Airflow's backoff instead: with a 5-minute
# base, waits of 5-10, 10-20 and 20-30 minutes (TaskInstance.next_retry_datetime, airflow/models/taskinstance.py in
# 2.x and airflow-core/src/airflow/models/taskinstance.py in 3.0: retry_delay * 2^(try_number-1) plus up to as much
# again of hash jitter, capped by max_retry_delay).
RETRY_BACKOFF = os.environ.get("BREADBOARD_RETRY_BACKOFF", "constant")
RETRIES = 3
RETRY_DELAY = timedelta(minutes=5)

SCHEDULE = "0 */6 * * *"
WINDOW = timedelta(hours=6)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# ---------------------------------------------------------------------------------------------------------------
# The run's window: what --from/--to (and the alert's --ts) render to, for every kind of run on 2.x and 3.x.
#
# - A scheduled run, and on Airflow 2 every manual run, has a data interval: the 6 hours that closed when it was
#   scheduled. Airflow 2 gives a manual run the last complete interval before its logical date
#   (airflow/api/common/trigger_dag.py, _trigger_dag: dag.timetable.infer_manual_data_interval(run_after=...);
#   CronDataIntervalTimetable.infer_manual_data_interval: end = _align_to_prev(run_after), start = _get_prev(end)).
# - An Airflow 3 run triggered without a logical date has no data interval, and its template context then has no
#   data_interval_start/_end keys at all (task-sdk/src/airflow/sdk/execution_time/task_runner.py,
#   RuntimeTaskInstance.get_template_context: those keys are added only `if logical_date := ...`; apache/airflow
#   PR #46522 and #46512, before 3.0.0). Its DagRun still has run_after, the time it was triggered for
#   (task-sdk/src/airflow/sdk/api/datamodels/_generated.py, DagRun.run_after, not optional). Such a run fetches the
#   6 hours ending at run_after rounded down to the schedule (00, 06, 12, 18 UTC): the last complete window.
# - Trigger params `from` and `to` (ISO-8601; a time without zone is UTC) override both.
# Templates reach this through pass_context macros: Airflow renders with the DAG's Jinja environment
# (DAG.get_template_env: user_defined_macros become globals) and passes its context as the Jinja context's parent
# (render_template in airflow/utils/helpers.py (2.x) and task-sdk/src/airflow/sdk/definitions/context.py (3.x)), so
# a missing key reads as None here instead of failing under StrictUndefined, Airflow's default template_undefined.
# ---------------------------------------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    """An aware datetime (pendulum's DateTime is one) as a plain UTC datetime."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} has no time zone")
    u = value.astimezone(timezone.utc)
    return datetime(u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond, tzinfo=timezone.utc)


def _floor(value: datetime) -> datetime:
    """Rounds down to the schedule: 6-hour steps from 00:00 UTC (24 is a multiple of 6 and UTC has no DST)."""
    return _EPOCH + ((value - _EPOCH) // WINDOW) * WINDOW


def _param_time(name: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"param {name} {text!r}: not an ISO-8601 time (2026-01-05T06:00:00Z) or date") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return _utc(value)


def batch_window(context) -> tuple[datetime, datetime]:
    """[start, end) in UTC for the run of `context` (Airflow's template or callback context, or Jinja's over it)."""
    params = context.get("params") or {}
    first = str(params.get("from") or "").strip()
    last = str(params.get("to") or "").strip()
    if first or last:
        if not (first and last):
            raise ValueError("params from and to: give both, or neither")
        start, end = _param_time("from", first), _param_time("to", last)
    else:
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        if start is None or end is None or end <= start:
            # No interval (Airflow 3, no logical date), or a zero-length one (a CronTriggerTimetable's).
            anchor = end if end is not None else getattr(context.get("dag_run"), "run_after", None)
            if anchor is None:
                raise ValueError("the run has no data interval and no run_after: trigger it with params from and to")
            end = _floor(_utc(anchor))
            start = end - WINDOW
        start, end = _utc(start), _utc(end)
    if end <= start:
        raise ValueError(f"window {start.isoformat()} .. {end.isoformat()}: the end must come after the start")
    return start, end


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if value.microsecond else "%Y-%m-%dT%H:%M:%SZ")


@pass_context
def breadboard_from(context) -> str:
    return _iso(batch_window(context)[0])


@pass_context
def breadboard_to(context) -> str:
    return _iso(batch_window(context)[1])


# ---------------------------------------------------------------------------------------------------------------
# Values from trigger params and Airflow Variables are checked against strict patterns before any step sees them
# (a refused value fails the render, so the task fails before anything runs). The shell never parses them anyway
# (bash mode passes them through `env`, see breadboard_task); the patterns also keep a value from reading as an
# option (`--store …`) and a run id from naming a path outside the staging folder.
# ---------------------------------------------------------------------------------------------------------------

_SYMBOL = re.compile(r"[A-Za-z0-9^][A-Za-z0-9._:/=^+-]{0,63}")
_INTERVAL = re.compile(r"[0-9]{1,4}[a-z]{1,3}")
_PROVIDER = re.compile(r"[a-z][a-z0-9_-]{0,31}")
# Airflow's own default [scheduler] allowed_run_id_pattern is ^[A-Za-z0-9_.~:+-]+$ ; the id is a folder name here.
_RUN_ID = re.compile(r"[A-Za-z0-9_~:+][A-Za-z0-9_.~:+-]{0,249}")


def _checked(what: str, value, pattern: re.Pattern) -> str:
    text = str(value).strip()
    if not pattern.fullmatch(text):
        raise ValueError(f"{what} {text!r}: must match {pattern.pattern}")
    return text


def breadboard_symbols(value) -> str:
    symbols = [s.strip() for s in str(value).split(",")]
    if not 1 <= len(symbols) <= 500:
        raise ValueError(f"symbols {str(value)!r}: 1 to 500 comma-separated symbols")
    return ",".join(_checked("symbol", s, _SYMBOL) for s in symbols)


def breadboard_interval(value) -> str:
    return _checked("interval", value, _INTERVAL)


def breadboard_provider(value) -> str:
    return _checked("provider", value, _PROVIDER)


def breadboard_run_id(value) -> str:
    return _checked("run id", value, _RUN_ID)


# What to fetch, read when a run starts: a manual trigger's params win, then the Airflow Variables, then the defaults.
RUN_ID = "{{ run_id | breadboard_run_id }}"
SYMBOLS = '{{ (params.symbols or var.value.get("breadboard_symbols", "BTC-USD,ETH-USD")) | breadboard_symbols }}'
INTERVAL = '{{ (params.interval or var.value.get("breadboard_interval", "1m")) | breadboard_interval }}'
PROVIDER = '{{ (params.provider or var.value.get("breadboard_provider", "binance")) | breadboard_provider }}'
FROM = "{{ breadboard_from() }}"
TO = "{{ breadboard_to() }}"

_JINJA = ("{{", "{%", "{#")


def bash_command_and_env(argv: list[str]) -> tuple[str, dict[str, str]]:
    """The bash command for `argv`, with every templated word read from an environment variable, and those variables.

    Airflow renders bash_command with Jinja and hands the result to `bash -c` (BashOperator._run_inline_command,
    providers/standard/src/airflow/providers/standard/operators/bash.py); quoting done before rendering cannot hold
    for what Jinja puts in afterwards. So the command holds no template at all: each templated word becomes
    "$BATCH_<OPTION>", a quoted expansion the shell does not split or re-parse, and the template goes into `env`,
    which Airflow renders too (BashOperator.template_fields = bash_command, env, cwd) and passes to the process as its
    environment (BashOperator.get_env; the operator's own docstring recommends exactly this for user input).
    """
    words: list[str] = []
    env: dict[str, str] = {}
    for i, word in enumerate(argv):
        if any(mark in word for mark in _JINJA):
            if i == 0 or not argv[i - 1].startswith("--"):
                raise ValueError(f"templated word {word!r} must follow an --option")
            name = "BATCH_" + argv[i - 1][2:].replace("-", "_").upper()
            env[name] = word
            words.append(f'"${name}"')
        else:
            words.append(shlex.quote(word))
    # exec: the CLI replaces bash, so the task's SIGTERM on kill reaches it directly.
    return "exec " + " ".join(words), env


def breadboard_task(task_id: str, argv: list[str], *, staging: bool = True, **kwargs):
    """One task running `argv` (starting with "breadboard"): in a Breadboard pod, or from PATH in bash mode."""
    if MODE == "bash":
        # BashOperator lives in the standard provider since Airflow 3; airflow.operators.bash is only a deprecation
        # shim there (airflow-core/src/airflow/operators/__init__.py, __deprecated_classes["bash"]). Airflow 2 without
        # that provider has only the core module.
        try:
            from airflow.providers.standard.operators.bash import BashOperator
        except ImportError:
            from airflow.operators.bash import BashOperator

        command, env = bash_command_and_env(argv)
        # append_env: the worker's environment (PATH, BREADBOARD_STORE, BREADBOARD_ALERTS, …) plus these variables;
        # without it `env` would replace the whole environment (BashOperator.get_env).
        return BashOperator(task_id=task_id, bash_command=command, env=env, append_env=True, cwd=HOME, **kwargs)

    from kubernetes.client import models as k8s
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    arguments = argv[1:]
    mounts = {}
    if staging:
        # Staging goes on the shared claim whatever the image's working directory. One claim for the three step pods
        # (staging lives under data/staging/RUN_ID): they run one after another, so ReadWriteOnce works, at the cost
        # of a volume re-attach when the next pod lands on another node.
        arguments = arguments + ["--staging", f"{DATA_MOUNT}/staging"]
        mounts = {
            "volumes": [k8s.V1Volume(name="data", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=DATA_PVC))],
            "volume_mounts": [k8s.V1VolumeMount(name="data", mount_path=DATA_MOUNT)],
        }
    return KubernetesPodOperator(
        task_id=task_id,
        name=f"breadboard-{task_id.replace('_', '-')}",
        image=IMAGE,
        namespace=NAMESPACE,
        # The image's entrypoint is the CLI in exec form (deploy/docker/Dockerfile: ENTRYPOINT ["breadboard"]), and
        # KubernetesPodOperator renders `arguments` element by element into the container's args
        # (KubernetesPodOperator.build_pod_request_obj: args=self.arguments): argv, no shell.
        arguments=arguments,
        env_from=[
            k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name=CONFIG_MAP)),
            k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=SECRET, optional=True)),
        ],
        do_xcom_push=False,
        get_logs=True,
        **mounts,
        **kwargs,
    )


default_args = {
    "owner": "breadboard",
    "retries": RETRIES,
    "retry_delay": RETRY_DELAY,
}
if RETRY_BACKOFF == "exponential":
    # The worst case, about an hour of waiting, still ends well inside the 6-hour schedule.
    default_args["retry_exponential_backoff"] = True
    default_args["max_retry_delay"] = timedelta(minutes=30)
elif RETRY_BACKOFF != "constant":
    raise ValueError(f"BREADBOARD_RETRY_BACKOFF={RETRY_BACKOFF!r}: constant or exponential")

with DAG(
    dag_id="historical_fetch",
    description="Fetch the last 6 hours of OHLCV bars, validate them, write them to the store.",
    default_args=default_args,
    schedule=CronDataIntervalTimetable(SCHEDULE, timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    # Runs must not overlap: a late run and the next one would otherwise write the same store concurrently.
    max_active_runs=1,
    # A manual trigger may set these; empty means "the Variable, else the default" (and for from/to: the window).
    params={"symbols": "", "interval": "", "provider": "", "from": "", "to": ""},
    user_defined_macros={"breadboard_from": breadboard_from, "breadboard_to": breadboard_to},
    user_defined_filters={
        "breadboard_symbols": breadboard_symbols,
        "breadboard_interval": breadboard_interval,
        "breadboard_provider": breadboard_provider,
        "breadboard_run_id": breadboard_run_id,
    },
    tags=["breadboard", "batch", "market-data"],
) as dag:
    fetch_symbols = breadboard_task(
        "fetch_symbols",
        ["breadboard", "batch", "fetch", "--run-id", RUN_ID,
         "--symbols", SYMBOLS, "--from", FROM, "--to", TO, "--interval", INTERVAL, "--provider", PROVIDER],
    )
    validate_data = breadboard_task("validate_data", ["breadboard", "batch", "validate", "--run-id", RUN_ID])
    write_clickhouse = breadboard_task("write_clickhouse", ["breadboard", "batch", "write", "--run-id", RUN_ID])

    # The alert is a task of the run, not an on_failure_callback. A callback runs outside any task: in the worker
    # after the task, or for a task that died in the DAG processor (airflow-core/src/airflow/dag_processing/
    # processor.py, _execute_task_callbacks), which has no Breadboard CLI, and starting a KubernetesPodOperator from
    # there is not supported: its execute pushes the pod's name and namespace as XCom onto context["ti"] (the failed
    # task) whatever do_xcom_push says, and labels the pod as that task's (KubernetesPodOperator.execute_sync,
    # _get_ti_pod_labels), and the DAG processor cannot store XCom at all (DagFileProcessorProcess._handle_request has
    # no SetXCom). A task runs where the steps run, with their settings, retries and logs.
    # one_failed: runs as soon as one step has failed for good (a step up for retry has not), and is skipped when all
    # are done without failure (ti_deps/deps/trigger_rule_dep.py, TriggerRuleDep: ONE_FAILED).
    batch_failed = breadboard_task(
        "batch_failed",
        ["breadboard", "alerts", "publish", "--rule", "batch_failed", "--symbol", "historical_fetch",
         # A step that failed for good has had all its tries. The id is batch_failed:historical_fetch:batch:<start>,
         # the one the in-process scheduler gives the same window, so a repeat (a cleared run failing again) is
         # the same alert.
         "--value", str(RETRIES + 1), "--threshold", str(RETRIES + 1), "--ts", FROM],
        staging=False,
        trigger_rule="one_failed",
    )

    # A run's state is its leaves' (DagRun.update_state: failed if a leaf failed, success if all leaves succeeded or
    # were skipped). With batch_failed the only leaf, a failed run whose alert went out would be marked a success;
    # batch_done, downstream of the last step, is upstream_failed then and keeps the run failed. EmptyOperator: the
    # standard provider in Airflow 3 (the core module is a shim, as for BashOperator); the scheduler marks it done
    # without running anything (DagRun.schedule_tis: an EmptyOperator without callbacks, inlets or outlets).
    try:
        from airflow.providers.standard.operators.empty import EmptyOperator
    except ImportError:
        from airflow.operators.empty import EmptyOperator
    batch_done = EmptyOperator(task_id="batch_done")

    fetch_symbols >> validate_data >> write_clickhouse >> batch_done
    [fetch_symbols, validate_data, write_clickhouse] >> batch_failed
