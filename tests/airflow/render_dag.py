#!/usr/bin/env python3
"""Imports deploy/airflow/dags/historical_fetch.py against stand-ins of the Airflow classes it uses, renders every
templated field with Jinja the way Airflow does, and runs the bash-mode commands against a stand-in `breadboard`.

    python3 tests/airflow/render_dag.py deploy/airflow/dags/historical_fetch.py
        prints one line per failed check and exits 1, or prints "ok" (and how many checks passed) and exits 0.
    python3 tests/airflow/render_dag.py DAG_FILE --print
        also prints each rendered command, one a line.

Needs jinja2 (Debian: python3-jinja2); without it this FAILS, it does not skip. Airflow itself is not installed here
(no PyPI): everything named Airflow below is a stand-in written from Airflow's sources, which are cited where each
behaviour is copied. What is real: Jinja (the same SandboxedEnvironment, StrictUndefined and `do` extension Airflow
configures), bash, and the DAG file itself. What is a stand-in: the operators, the DAG class, the template contexts
(built with the keys Airflow 2 and Airflow 3 put in them), `breadboard` (a script recording its argv) and pendulum
(only `pendulum.datetime`, which the DAG calls at parse time; contexts hold plain aware datetimes, which is what
pendulum's DateTime subclasses).

Checks, by the items of issue 18:
  1. every templated value reaches `breadboard` as exactly one argument, whatever it contains: hostile trigger params
     and Variables are refused before anything runs, and the bash command, run with hostile values in its
     environment, hands them over verbatim and runs nothing else;
  2. scheduled runs, manual runs on Airflow 2, manual runs on Airflow 3 with and without a logical date, and runs
     with params from/to all render the window they should; failure callbacks, if any, do not raise;
  3. retries: 3, 5 minutes apart by default; exponential backoff only when asked for;
  4. no import goes through a module Airflow 3 keeps only as a deprecation shim;
  5. no failure path calls execute() on an operator outside the DAG; the alert is a task that runs when a step has
     failed for good, and such a run stays failed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import types
import warnings
from datetime import datetime, timedelta, timezone

try:
    import jinja2
    import jinja2.sandbox
except ImportError:  # A missing Jinja is a failure: this is the only check that renders the DAG's templates.
    print("jinja2 is missing: install python3-jinja2 (Debian) for this python3 "
          f"({sys.executable}); scripts/test.sh does it", file=sys.stderr)
    sys.exit(1)

UTC = timezone.utc
STEPS = ["fetch_symbols", "validate_data", "write_clickhouse"]
ALERT = "batch_failed"
DONE = "batch_done"


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------------------
# Stand-ins
# ---------------------------------------------------------------------------------------------------------------

class Recorder:
    """What a loaded DAG did that it must not: deprecated imports, execute() outside a task, XCom pushes."""

    def __init__(self):
        self.deprecated: list[str] = []
        self.executed_outside: list[str] = []
        self.xcom_pushes: list[tuple[str, str]] = []


RECORD = Recorder()


class _AirflowEnvironmentMixin:
    # As airflow/templates.py (2.x) and task-sdk/src/airflow/sdk/definitions/_internal/templater.py (3.x): Airflow's
    # filters, and "_"-prefixed attributes allowed (only "__" ones blocked).
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.filters.update({
            "ds": lambda v: None if v is None else v.strftime("%Y-%m-%d"),
            "ds_nodash": lambda v: None if v is None else v.strftime("%Y%m%d"),
            "ts": lambda v: None if v is None else v.isoformat(),
            "ts_nodash": lambda v: None if v is None else v.strftime("%Y%m%dT%H%M%S"),
            "ts_nodash_with_tz": lambda v: None if v is None else v.isoformat().replace("-", "").replace(":", ""),
        })

    def is_safe_attribute(self, obj, attr, value):
        return not jinja2.sandbox.is_internal_attribute(obj, attr)


class SandboxedEnvironment(_AirflowEnvironmentMixin, jinja2.sandbox.SandboxedEnvironment):
    pass


class DAG:
    """Stand-in of airflow.models.dag.DAG (2.x) / airflow.sdk.DAG (3.x): keeps its arguments and its tasks."""

    _current: list["DAG"] = []

    def __init__(self, dag_id=None, *, default_args=None, params=None, user_defined_macros=None,
                 user_defined_filters=None, template_undefined=jinja2.StrictUndefined, template_searchpath=None,
                 render_template_as_native_obj=False, jinja_environment_kwargs=None, on_failure_callback=None,
                 **kwargs):
        self.dag_id = dag_id
        self.default_args = dict(default_args or {})
        self.params = dict(params or {})
        self.user_defined_macros = user_defined_macros
        self.user_defined_filters = user_defined_filters
        self.template_undefined = template_undefined
        self.template_searchpath = template_searchpath
        self.render_template_as_native_obj = render_template_as_native_obj
        self.jinja_environment_kwargs = jinja_environment_kwargs
        self.on_failure_callback = on_failure_callback
        self.kwargs = kwargs
        self.tasks: dict[str, BaseOperator] = {}
        self.folder = os.getcwd()

    def __enter__(self):
        DAG._current.append(self)
        return self

    def __exit__(self, *exc):
        DAG._current.pop()

    def get_template_env(self):
        # DAG.get_template_env (airflow/models/dag.py in 2.x, task-sdk/src/airflow/sdk/definitions/dag.py in 3.x):
        # these options, a NativeEnvironment only with render_template_as_native_obj, then the DAG's macros as
        # globals and its filters as filters.
        if self.render_template_as_native_obj:
            raise AssertionError("render_template_as_native_obj: this harness renders strings only")
        searchpath = [self.folder] + list(self.template_searchpath or [])
        options = {"loader": jinja2.FileSystemLoader(searchpath), "undefined": self.template_undefined,
                   "extensions": ["jinja2.ext.do"], "cache_size": 0}
        options.update(self.jinja_environment_kwargs or {})
        env = SandboxedEnvironment(**options)
        env.globals.update(self.user_defined_macros or {})
        env.filters.update(self.user_defined_filters or {})
        return env

    @property
    def leaves(self):
        return [t for t in self.tasks.values() if not t.downstream]


class BaseOperator:
    template_fields: tuple[str, ...] = ()
    template_ext: tuple[str, ...] = ()

    def __init__(self, *, task_id, trigger_rule=None, retries=None, retry_delay=None, retry_exponential_backoff=None,
                 max_retry_delay=None, on_failure_callback=None, owner=None, dag=None, **kwargs):
        self.task_id = task_id
        self.dag = dag or (DAG._current[-1] if DAG._current else None)
        defaults = self.dag.default_args if self.dag else {}
        given = {"trigger_rule": trigger_rule, "retries": retries, "retry_delay": retry_delay,
                 "retry_exponential_backoff": retry_exponential_backoff, "max_retry_delay": max_retry_delay,
                 "on_failure_callback": on_failure_callback, "owner": owner}
        # default_args fill what the operator was not given (BaseOperatorMeta._apply_defaults), then the defaults.
        fallback = {"trigger_rule": "all_success", "retries": 0, "retry_delay": timedelta(seconds=300),
                    "retry_exponential_backoff": False}
        for name, value in given.items():
            if value is None:
                value = defaults.get(name, fallback.get(name))
            setattr(self, name, value)
        self.extra = kwargs
        self.upstream: set[str] = set()
        self.downstream: set[str] = set()
        if self.dag is not None:
            if task_id in self.dag.tasks:
                raise AssertionError(f"task {task_id}: defined twice")
            self.dag.tasks[task_id] = self

    def _tasks(self, other):
        return other if isinstance(other, (list, tuple)) else [other]

    def __rshift__(self, other):
        for o in self._tasks(other):
            self.downstream.add(o.task_id)
            o.upstream.add(self.task_id)
        return other

    def __rrshift__(self, other):
        for o in self._tasks(other):
            o >> self
        return self

    def __lshift__(self, other):
        for o in self._tasks(other):
            o >> self
        return other

    def __rlshift__(self, other):
        self >> other
        return self

    def execute(self, context):
        # Only a failure path calls this here (the harness runs tasks itself): record it, as if it had worked.
        RECORD.executed_outside.append(f"{type(self).__name__}({self.task_id}).execute")


class BashOperator(BaseOperator):
    # BashOperator (providers/standard/src/airflow/providers/standard/operators/bash.py; airflow/operators/bash.py
    # in 2.x): these template fields and extensions; the environment from get_env; `bash -c command` in cwd.
    template_fields = ("bash_command", "env", "cwd")
    template_ext = (".sh", ".bash")

    def __init__(self, *, bash_command, env=None, append_env=False, cwd=None, **kwargs):
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env
        self.append_env = append_env
        self.cwd = cwd

    def run(self):
        """What execute does with the rendered fields: returns the exit code."""
        if self.cwd is not None and not os.path.isdir(self.cwd):
            raise AssertionError(f"cwd {self.cwd}: not a directory (BashOperator fails the task)")
        system_env = os.environ.copy()
        if self.env is None:
            env = system_env
        elif self.append_env:
            system_env.update(self.env)
            env = system_env
        else:
            env = dict(self.env)
        bash = shutil.which("bash") or "bash"
        done = subprocess.run([bash, "-c", self.bash_command], env=env, cwd=self.cwd, capture_output=True,
                              text=True, timeout=30, check=False)
        return done.returncode, done.stderr


class EmptyOperator(BaseOperator):
    pass


class KubernetesPodOperator(BaseOperator):
    # KubernetesPodOperator.template_fields (providers/cncf/kubernetes/.../operators/pod.py), as far as they matter.
    template_fields = ("image", "name", "cmds", "arguments", "env_vars", "labels", "namespace", "env_from",
                       "volumes", "volume_mounts")

    def __init__(self, *, name=None, image=None, namespace=None, cmds=None, arguments=None, env_vars=None,
                 env_from=None, volumes=None, volume_mounts=None, labels=None, do_xcom_push=False, get_logs=True,
                 reattach_on_restart=True, **kwargs):
        super().__init__(**kwargs)
        self.name, self.image, self.namespace = name, image, namespace
        self.cmds, self.arguments = cmds or [], arguments or []
        self.env_vars, self.env_from = env_vars or [], env_from or []
        self.volumes, self.volume_mounts = volumes or [], volume_mounts or []
        self.labels = labels or {}
        self.do_xcom_push = do_xcom_push

    def execute(self, context):
        # The real execute_sync pushes pod_name/pod_namespace onto context["ti"] whatever do_xcom_push says.
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push("pod_name", f"{self.name}-pod")
        super().execute(context)


class _K8sModel:
    template_fields: tuple[str, ...] = ()

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


def _k8s_models() -> types.ModuleType:
    models = types.ModuleType("kubernetes.client.models")
    for name in ("V1Volume", "V1PersistentVolumeClaimVolumeSource", "V1VolumeMount", "V1EnvFromSource",
                 "V1ConfigMapEnvSource", "V1SecretEnvSource", "V1EnvVar"):
        setattr(models, name, type(name, (_K8sModel,), {}))
    return models


class CronDataIntervalTimetable:
    def __init__(self, cron, timezone):
        self.cron, self.timezone = cron, timezone


class CronTriggerTimetable:
    def __init__(self, cron, *, timezone, interval=timedelta()):
        self.cron, self.timezone, self.interval = cron, timezone, interval


def _deprecated_shim(name: str, target: str, **attrs) -> types.ModuleType:
    """A module that, like Airflow 3's airflow.operators (add_deprecated_classes), warns on use of what it holds."""
    module = types.ModuleType(name)

    def __getattr__(attr):
        if attr in attrs:
            RECORD.deprecated.append(f"{name}.{attr} (moved to {target})")
            warnings.warn(f"{name}.{attr} is deprecated: use {target}", DeprecationWarning, stacklevel=2)
            return attrs[attr]
        raise AttributeError(attr)

    module.__getattr__ = __getattr__
    return module


def _pendulum() -> types.ModuleType:
    module = types.ModuleType("pendulum")

    def dt(year, month=1, day=1, hour=0, minute=0, second=0, microsecond=0, tz="UTC"):
        if tz not in ("UTC", UTC):
            raise AssertionError(f"pendulum stand-in: only UTC, got {tz!r}")
        return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)

    module.datetime = dt
    return module


def install_standins(flavor: int) -> None:
    """Puts stand-in modules for Airflow `flavor` (2 or 3) into sys.modules."""
    for name in [m for m in sys.modules if m == "airflow" or m.startswith(("airflow.", "kubernetes"))] + ["pendulum"]:
        sys.modules.pop(name, None)

    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__path__ = []  # a package, so that submodules import
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    module("pendulum").__dict__.update(_pendulum().__dict__)
    module("airflow", DAG=DAG)  # 2.x: airflow.DAG; 3.0 still maps it to airflow.models.dag.DAG (airflow/__init__.py)
    module("airflow.timetables")
    module("airflow.timetables.interval", CronDataIntervalTimetable=CronDataIntervalTimetable)
    module("airflow.timetables.trigger", CronTriggerTimetable=CronTriggerTimetable)
    module("airflow.providers")
    module("airflow.providers.cncf")
    module("airflow.providers.cncf.kubernetes")
    module("airflow.providers.cncf.kubernetes.operators")
    module("airflow.providers.cncf.kubernetes.operators.pod", KubernetesPodOperator=KubernetesPodOperator)
    module("kubernetes")
    module("kubernetes.client")
    sys.modules["kubernetes.client.models"] = _k8s_models()
    sys.modules["kubernetes.client"].models = sys.modules["kubernetes.client.models"]
    if flavor == 2:
        module("airflow.operators")
        module("airflow.operators.bash", BashOperator=BashOperator)
        module("airflow.operators.empty", EmptyOperator=EmptyOperator)
    else:
        module("airflow.sdk", DAG=DAG)
        module("airflow.providers.standard")
        module("airflow.providers.standard.operators")
        module("airflow.providers.standard.operators.bash", BashOperator=BashOperator)
        module("airflow.providers.standard.operators.empty", EmptyOperator=EmptyOperator)
        # airflow-core/src/airflow/operators/__init__.py: __deprecated_classes, bash and empty among them.
        sys.modules["airflow.operators"] = module("airflow.operators")
        for sub, cls in (("bash", BashOperator), ("empty", EmptyOperator)):
            target = f"airflow.providers.standard.operators.{sub}.{cls.__name__}"
            sys.modules[f"airflow.operators.{sub}"] = _deprecated_shim(f"airflow.operators.{sub}", target, **{cls.__name__: cls})


_loaded = itertools.count()


def load_dag(path: str, flavor: int, environ: dict[str, str]) -> tuple[types.ModuleType, DAG]:
    install_standins(flavor)
    saved = {k: os.environ.get(k) for k in environ}
    os.environ.update(environ)
    try:
        spec = importlib.util.spec_from_file_location(f"historical_fetch_{next(_loaded)}", path)
        mod = importlib.util.module_from_spec(spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # recorded in RECORD.deprecated instead
            spec.loader.exec_module(mod)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    dags = [v for v in vars(mod).values() if isinstance(v, DAG)]
    if len(dags) != 1:
        raise AssertionError(f"expected one DAG, found {len(dags)}")
    return mod, dags[0]


# ---------------------------------------------------------------------------------------------------------------
# Template contexts, as Airflow builds them
# ---------------------------------------------------------------------------------------------------------------

class VariableAccessor:
    """context["var"]["value"]: .get(key, default) reads an Airflow Variable."""

    def __init__(self, variables):
        self._variables = variables

    def get(self, key, default=None):
        return self._variables.get(key, default)

    def __getattr__(self, key):
        if key in self._variables:
            return self._variables[key]
        raise KeyError(key)


class TaskInstanceStandIn:
    def __init__(self, dag_id, task_id, run_id, try_number, max_tries):
        self.dag_id, self.task_id, self.run_id = dag_id, task_id, run_id
        self.try_number, self.max_tries, self.map_index = try_number, max_tries, -1

    def xcom_push(self, key, value):
        RECORD.xcom_pushes.append((self.task_id, key))


def make_context(dag: DAG, task: BaseOperator, *, airflow: int, run_id: str, logical_date, interval, run_after,
                 conf=None, variables=None, try_number=1) -> dict:
    """The template context of one task instance.

    Airflow 3: RuntimeTaskInstance.get_template_context (task-sdk/src/airflow/sdk/execution_time/task_runner.py):
    logical_date, ds/ts… and data_interval_start/_end only when the run has a logical date; dag_run is the Execution
    API's DagRun (task-sdk/src/airflow/sdk/api/datamodels/_generated.py), which always has run_after.
    Airflow 2: TaskInstance.get_template_context (airflow/models/taskinstance.py): every key, a data interval always.
    """
    params = dict(dag.params)
    params.update(conf or {})
    ti = TaskInstanceStandIn(dag.dag_id, task.task_id, run_id, try_number, task.retries)
    start, end = interval if interval is not None else (None, None)
    base = {"dag": dag, "task": task, "ti": ti, "task_instance": ti, "run_id": run_id, "params": params,
            "var": {"value": VariableAccessor(variables or {}), "json": VariableAccessor(variables or {})},
            "conn": None, "macros": None, "inlets": [], "outlets": [], "map_index_template": None,
            "outlet_events": None, "inlet_events": None}
    if airflow == 3:
        dag_run = types.SimpleNamespace(dag_id=dag.dag_id, run_id=run_id, logical_date=logical_date,
                                        data_interval_start=start, data_interval_end=end, run_after=run_after,
                                        start_date=run_after, end_date=None, clear_number=0, conf=conf or {},
                                        run_type="manual" if run_id.startswith("manual") else "scheduled")
        base.update({"dag_run": dag_run, "triggering_asset_events": {}, "task_reschedule_count": 0,
                     "task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{run_id}",
                     "prev_start_date_success": None, "prev_end_date_success": None})
        if logical_date is not None:
            if interval is None:
                raise AssertionError("Airflow 3: a logical date comes with a data interval")
            ds = logical_date.strftime("%Y-%m-%d")
            base.update({"logical_date": logical_date, "ds": ds, "ds_nodash": ds.replace("-", ""),
                         "ts": logical_date.isoformat(), "ts_nodash": logical_date.strftime("%Y%m%dT%H%M%S"),
                         "ts_nodash_with_tz": logical_date.isoformat().replace("-", "").replace(":", ""),
                         "data_interval_start": start, "data_interval_end": end,
                         "prev_data_interval_start_success": None, "prev_data_interval_end_success": None})
        return base
    if logical_date is None or interval is None:
        raise AssertionError("Airflow 2: every run has a logical date and a data interval")
    dag_run = types.SimpleNamespace(dag_id=dag.dag_id, run_id=run_id, logical_date=logical_date,
                                    execution_date=logical_date, data_interval_start=start, data_interval_end=end,
                                    start_date=run_after, conf=conf or {}, external_trigger=run_id.startswith("manual"))
    ds = logical_date.strftime("%Y-%m-%d")
    base.update({"dag_run": dag_run, "conf": None, "logical_date": logical_date, "execution_date": logical_date,
                 "ds": ds, "ds_nodash": ds.replace("-", ""), "ts": logical_date.isoformat(),
                 "ts_nodash": logical_date.strftime("%Y%m%dT%H%M%S"),
                 "ts_nodash_with_tz": logical_date.isoformat().replace("-", "").replace(":", ""),
                 "data_interval_start": start, "data_interval_end": end, "test_mode": False,
                 "prev_data_interval_start_success": None, "prev_data_interval_end_success": None,
                 "prev_start_date_success": None, "prev_end_date_success": None, "templates_dict": None,
                 "task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{ds.replace('-', '')}"})
    return base


# ---------------------------------------------------------------------------------------------------------------
# Rendering, as Templater.render_template does it (task-sdk/src/airflow/sdk/definitions/_internal/templater.py;
# airflow/template/templater.py in 2.x): strings rendered (a string ending in a template_ext is a file to load),
# lists/tuples/dicts element by element, other objects through their own template_fields. Airflow renders with
# template.root_render_func over a copy of the context with the globals added (render_template); that resolves
# names as Template.render does, which is what is used here.
# ---------------------------------------------------------------------------------------------------------------

def render_value(value, context, env, ext):
    if isinstance(value, str):
        if value.endswith(tuple(ext)):
            raise AssertionError(f"{value!r} ends with {ext}: Airflow would read it as a template file")
        return env.from_string(value).render(context)
    if isinstance(value, tuple):
        return tuple(render_value(v, context, env, ext) for v in value)
    if isinstance(value, list):
        return [render_value(v, context, env, ext) for v in value]
    if isinstance(value, dict):
        return {k: render_value(v, context, env, ext) for k, v in value.items()}
    for field in getattr(value, "template_fields", ()):
        setattr(value, field, render_value(getattr(value, field), context, env, ext))
    return value


def render_task(task: BaseOperator, context: dict) -> dict:
    env = task.dag.get_template_env()
    return {f: render_value(getattr(task, f), context, env, task.template_ext) for f in task.template_fields}


# ---------------------------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------------------------

DEFAULTS = {"symbols": "BTC-USD,ETH-USD", "interval": "1m", "provider": "binance"}


def expected_argv(task_id: str, run_id: str, window: tuple[str, str], what=None) -> list[str]:
    what = {**DEFAULTS, **(what or {})}
    return {
        "fetch_symbols": ["batch", "fetch", "--run-id", run_id, "--symbols", what["symbols"], "--from", window[0],
                          "--to", window[1], "--interval", what["interval"], "--provider", what["provider"]],
        "validate_data": ["batch", "validate", "--run-id", run_id],
        "write_clickhouse": ["batch", "write", "--run-id", run_id],
        ALERT: ["alerts", "publish", "--rule", "batch_failed", "--symbol", "historical_fetch", "--value", "4",
                "--threshold", "4", "--ts", window[0]],
    }[task_id]


# (name, Airflow version, run id, logical date, data interval, run_after, conf, variables, expected window)
W0 = ("2025-01-01T00:00:00Z", "2025-01-01T06:00:00Z")
RUNS = [
    ("Airflow 2, scheduled", 2, "scheduled__2025-01-01T00:00:00+00:00", utc(2025, 1, 1),
     (utc(2025, 1, 1), utc(2025, 1, 1, 6)), utc(2025, 1, 1, 6), None, None, W0),
    # Airflow 2 gives a manual run the last complete interval before its logical date
    # (CronDataIntervalTimetable.infer_manual_data_interval).
    ("Airflow 2, manual", 2, "manual__2025-01-01T10:23:45+00:00", utc(2025, 1, 1, 10, 23, 45),
     (utc(2025, 1, 1, 0), utc(2025, 1, 1, 6)), utc(2025, 1, 1, 10, 23, 45), None, None, W0),
    ("Airflow 3, scheduled", 3, "scheduled__2025-01-01T00:00:00+00:00", utc(2025, 1, 1),
     (utc(2025, 1, 1), utc(2025, 1, 1, 6)), utc(2025, 1, 1, 6), None, None, W0),
    ("Airflow 3, manual with a logical date", 3, "manual__2025-01-01T10:23:45+00:00", utc(2025, 1, 1, 10, 23, 45),
     (utc(2025, 1, 1, 0), utc(2025, 1, 1, 6)), utc(2025, 1, 1, 10, 23, 45), None, None, W0),
    ("Airflow 3, manual without a logical date", 3, "manual__2025-01-01T10:23:45.123456+00:00", None, None,
     utc(2025, 1, 1, 10, 23, 45, 123456), None, None, W0),
    ("Airflow 3, manual without a logical date, on a boundary", 3, "manual__2025-01-01T12:00:00+00:00", None, None,
     utc(2025, 1, 1, 12), None, None, ("2025-01-01T06:00:00Z", "2025-01-01T12:00:00Z")),
    # What a cron string would give on Airflow 3 (CronTriggerTimetable: start = end).
    ("Airflow 3, zero-length interval", 3, "scheduled__2025-01-01T06:00:00+00:00", utc(2025, 1, 1, 6),
     (utc(2025, 1, 1, 6), utc(2025, 1, 1, 6)), utc(2025, 1, 1, 6), None, None, W0),
    ("Airflow 3, manual, params from/to", 3, "manual__2025-01-02T00:00:00+00:00", None, None, utc(2025, 1, 2),
     {"from": "2024-12-31T18:00:00Z", "to": "2025-01-01T00:00:00+00:00", "symbols": "AAPL", "interval": "5m",
      "provider": "polygon"}, None, ("2024-12-31T18:00:00Z", "2025-01-01T00:00:00Z")),
    ("Airflow 2, manual, params from/to as dates", 2, "manual__2025-01-02T00:00:00+00:00", utc(2025, 1, 2),
     (utc(2025, 1, 1, 18), utc(2025, 1, 2)), utc(2025, 1, 2), {"from": "2024-12-30", "to": "2024-12-31"}, None,
     ("2024-12-30T00:00:00Z", "2024-12-31T00:00:00Z")),
    ("Airflow 3, scheduled, Variables", 3, "scheduled__2025-01-01T00:00:00+00:00", utc(2025, 1, 1),
     (utc(2025, 1, 1), utc(2025, 1, 1, 6)), utc(2025, 1, 1, 6), None,
     {"breadboard_symbols": "SOL-USD, ^GSPC", "breadboard_interval": "1h", "breadboard_provider": "synthetic"}, W0),
]

HOSTILE = [
    "x'; touch {marker}; echo '",
    'x"; touch {marker}; echo "',
    "$(touch {marker})",
    "`touch {marker}`",
    "x\ntouch {marker}",
    "x; touch {marker}",
    "x && touch {marker}",
    "x | tee {marker}",
    "> {marker}",
    "--store=memory://",
    "{{{{ run_id }}}}",
    "${{PATH}}",
    "*",
    "",
]


class Checks:
    def __init__(self, path: str, show: bool):
        self.path = path
        self.show = show
        self.problems: list[str] = []
        self.passed = 0
        self.scratch = tempfile.mkdtemp(prefix="render_dag.")
        self.home = os.path.join(self.scratch, "home")
        os.makedirs(self.home)
        self.bin = os.path.join(self.scratch, "bin")
        os.makedirs(self.bin)
        self.log = os.path.join(self.scratch, "argv.log")
        self.marker = os.path.join(self.scratch, "owned")
        standin = os.path.join(self.bin, "breadboard")
        # Each argument NUL-terminated, then a record separator: exact whatever the arguments hold (a shell script,
        # because it starts in a millisecond and the checks run it a few hundred times).
        with open(standin, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\n"
                    "for a in \"$@\"; do printf '%s\\000' \"$a\"; done >> \"$BREADBOARD_STANDIN_LOG\"\n"
                    "printf '\\036\\000' >> \"$BREADBOARD_STANDIN_LOG\"\n")
        os.chmod(standin, 0o755)

    def close(self):
        shutil.rmtree(self.scratch, ignore_errors=True)

    def check(self, ok: bool, problem: str):
        if ok:
            self.passed += 1
        else:
            self.problems.append(problem)

    def load(self, flavor, mode, **extra):
        environ = {"BREADBOARD_AIRFLOW_MODE": mode, "BREADBOARD_HOME": self.home, **extra}
        return load_dag(self.path, flavor, environ)

    # -- running a bash-mode task against the stand-in breadboard ----------------------------------------------

    def run_bash(self, task: BaseOperator, rendered: dict, env_override=None) -> tuple[list[list[str]], int, str]:
        runner = BashOperator.__new__(BashOperator)
        runner.bash_command = rendered["bash_command"]
        runner.env = dict(rendered["env"]) if rendered.get("env") is not None else None
        if env_override:
            runner.env.update(env_override)
        runner.append_env = task.append_env
        runner.cwd = rendered.get("cwd")
        for p in (self.log, self.marker):
            with contextlib.suppress(FileNotFoundError):
                os.remove(p)
        saved = {k: os.environ.get(k) for k in ("PATH", "BREADBOARD_STANDIN_LOG")}
        os.environ["PATH"] = self.bin + os.pathsep + (saved["PATH"] or "/usr/bin:/bin")
        os.environ["BREADBOARD_STANDIN_LOG"] = self.log
        try:
            code, stderr = runner.run()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        calls, call = [], []
        if os.path.exists(self.log):
            with open(self.log, "rb") as f:
                for token in f.read().split(b"\0")[:-1]:
                    if token == b"\x1e":
                        calls.append(call)
                        call = []
                    else:
                        call.append(token.decode("utf-8"))
        return calls, code, stderr

    # -- item 2 (and the argv of every task): each kind of run renders its window -------------------------------

    def runs(self):
        for mode in ("bash", "kubernetes"):
            for name, flavor, run_id, logical, interval, run_after, conf, variables, window in RUNS:
                _, dag = self.load(flavor, mode)
                what = {}
                if variables:
                    what = {k.removeprefix("breadboard_"): v.replace(", ", ",") for k, v in variables.items()}
                if conf:
                    what.update({k: v for k, v in conf.items() if k in DEFAULTS})
                for task_id in STEPS + [ALERT]:
                    label = f"{name}, {mode} mode, {task_id}"
                    task = dag.tasks.get(task_id)
                    if task is None:
                        self.check(False, f"{label}: no task {task_id}")
                        continue
                    context = make_context(dag, task, airflow=flavor, run_id=run_id, logical_date=logical,
                                           interval=interval, run_after=run_after, conf=conf, variables=variables)
                    want = expected_argv(task_id, run_id, window, what)
                    try:
                        rendered = render_task(task, context)
                    except Exception as e:  # noqa: BLE001 - any render failure fails the task in Airflow
                        self.check(False, f"{label}: rendering fails: {type(e).__name__}: {e}")
                        continue
                    if mode == "bash":
                        calls, code, stderr = self.run_bash(task, rendered)
                        self.check(code == 0 and calls == [want],
                                   f"{label}: breadboard got {calls} (exit {code}{', ' + stderr.strip() if stderr.strip() else ''}), expected [{want}]")
                        if self.show and task_id == "fetch_symbols":
                            print(f"{label}: {rendered['bash_command']}  env {rendered['env']}")
                    else:
                        if task_id in STEPS:
                            want = want + ["--staging", "/data/staging"]
                        self.check(rendered["arguments"] == want and not rendered["cmds"],
                                   f"{label}: pod args {rendered['arguments']} (cmds {rendered['cmds']}), expected {want}")
                        if self.show and task_id == "fetch_symbols":
                            print(f"{label}: args {rendered['arguments']}")

        # A window with from but no to, or upside down, fails the render with a message naming the params.
        _, dag = self.load(3, "kubernetes")
        task = dag.tasks.get("fetch_symbols")
        if task is not None:
            for conf in ({"from": "2025-01-01T00:00:00Z"}, {"from": "2025-01-02", "to": "2025-01-01"}, {"from": "yesterday", "to": "today"}):
                context = make_context(dag, task, airflow=3, run_id="manual__x", logical_date=None, interval=None,
                                       run_after=utc(2025, 1, 2), conf=conf)
                try:
                    render_task(task, context)
                    self.check(False, f"params {conf}: rendered, expected a refusal")
                except ValueError as e:
                    self.check("from" in str(e) or "window" in str(e), f"params {conf}: refused with {e!r}")
                except Exception as e:  # noqa: BLE001
                    self.check(False, f"params {conf}: {type(e).__name__}: {e}")

    # -- item 1: hostile params, Variables and environment values --------------------------------------------------

    def hostile(self):
        scheduled = RUNS[2]
        for mode in ("bash", "kubernetes"):
            _, dag = self.load(3, mode)
            task = dag.tasks.get("fetch_symbols")
            if task is None:
                self.check(False, f"{mode} mode: no task fetch_symbols")
                continue
            for template, param in itertools.product(HOSTILE, ("symbols", "interval", "provider", "from", "to", "variable", "run_id")):
                value = template.format(marker=self.marker)
                if value == "" and param != "run_id":
                    continue  # an empty param means "use the default"
                conf = {param: value} if param in ("symbols", "interval", "provider") else {}
                if param in ("from", "to"):
                    conf = {"from": "2025-01-01T00:00:00Z", "to": "2025-01-01T06:00:00Z", param: value}
                variables = {"breadboard_symbols": value} if param == "variable" else None
                run_id = value if param == "run_id" else scheduled[2]
                label = f"{mode} mode, hostile {param} {value!r}"
                context = make_context(dag, task, airflow=3, run_id=run_id, logical_date=scheduled[3],
                                       interval=scheduled[4], run_after=scheduled[5], conf=conf, variables=variables)
                try:
                    rendered = render_task(task, context)
                except ValueError:
                    self.passed += 1  # refused before anything runs: the task fails, nothing is executed
                    continue
                except Exception as e:  # noqa: BLE001
                    self.check(False, f"{label}: rendering fails with {type(e).__name__}: {e}")
                    continue
                # Not refused: it must reach breadboard as exactly the one argument it was given.
                want = expected_argv("fetch_symbols", run_id, W0)
                if param in ("symbols", "interval", "provider"):
                    want[want.index("--" + param) + 1] = value
                elif param == "variable":
                    want[want.index("--symbols") + 1] = value
                elif param in ("from", "to"):
                    want[want.index("--" + param) + 1] = value
                if mode == "bash":
                    calls, code, _ = self.run_bash(task, rendered)
                    self.check(calls == [want] and not os.path.exists(self.marker),
                               f"{label}: breadboard got {calls}{' and the marker file was created' if os.path.exists(self.marker) else ''}, expected [{want}]")
                else:
                    self.check(rendered["arguments"][:len(want) - 1] == want[1:],
                               f"{label}: pod args {rendered['arguments']}, expected {want[1:]} + staging")

            # The shell layer on its own: whatever a templated environment variable holds (as if a value had got
            # past the patterns), the command passes it on verbatim and runs nothing else.
            if mode != "bash":
                continue
            context = make_context(dag, task, airflow=3, run_id=scheduled[2], logical_date=scheduled[3],
                                   interval=scheduled[4], run_after=scheduled[5])
            try:
                rendered = render_task(task, context)
            except Exception as e:  # noqa: BLE001
                self.check(False, f"bash mode: rendering fails: {e}")
                continue
            env = rendered.get("env") or {}
            self.check(bool(env), "bash mode: fetch_symbols passes no value through env; a value rendered into the "
                                  "bash command itself is parsed by the shell")
            for template in HOSTILE:
                value = template.format(marker=self.marker)
                for name in env:
                    calls, code, _ = self.run_bash(task, rendered, {name: value})
                    argv = list(expected_argv("fetch_symbols", scheduled[2], W0))
                    option = "--" + name.removeprefix("BATCH_").lower().replace("_", "-")
                    if option in argv:
                        argv[argv.index(option) + 1] = value
                    self.check(calls == [argv] and not os.path.exists(self.marker),
                               f"bash mode, {name}={value!r}: breadboard got {calls}"
                               f"{' and the marker file was created' if os.path.exists(self.marker) else ''}, expected [{argv}]")

    # -- item 3 ----------------------------------------------------------------------------------------------------

    def retries(self):
        def waits(task):
            # TaskInstance.next_retry_datetime (airflow/models/taskinstance.py, 2.x; airflow-core/.../taskinstance.py,
            # 3.0): the delay, or with backoff delay * 2^(try-1) plus a jitter of up to as much again, capped.
            out = []
            for try_number in range(1, task.retries + 1):
                delay = task.retry_delay
                if task.retry_exponential_backoff:
                    low = delay.total_seconds() * 2 ** (try_number - 1)
                    high = 2 * low
                    cap = task.max_retry_delay.total_seconds() if task.max_retry_delay else float("inf")
                    out.append((min(low, cap) / 60, min(high, cap) / 60))
                else:
                    out.append((delay.total_seconds() / 60, delay.total_seconds() / 60))
            return out

        _, dag = self.load(3, "kubernetes")
        for task_id in STEPS + [ALERT]:
            task = dag.tasks.get(task_id)
            if task is None:
                continue
            self.check(task.retries == 3 and waits(task) == [(5, 5)] * 3,
                       f"retries of {task_id}: {task.retries} tries, waits {waits(task)} minutes; the seed asks for 3, 5 minutes apart")
        try:
            _, dag = self.load(3, "kubernetes", BREADBOARD_RETRY_BACKOFF="exponential")
        except Exception as e:  # noqa: BLE001
            self.check(False, f"BREADBOARD_RETRY_BACKOFF=exponential: the DAG does not load: {e}")
            return
        task = dag.tasks.get("fetch_symbols")
        if task is not None:
            self.check(task.retry_exponential_backoff and waits(task) == [(5, 10), (10, 20), (20, 30)],
                       f"BREADBOARD_RETRY_BACKOFF=exponential: waits {waits(task)} minutes, expected 5-10, 10-20, 20-30")

    # -- item 4 ----------------------------------------------------------------------------------------------------

    def imports(self):
        for flavor, mode in itertools.product((2, 3), ("bash", "kubernetes")):
            RECORD.deprecated.clear()
            try:
                _, dag = self.load(flavor, mode)
            except Exception as e:  # noqa: BLE001
                self.check(False, f"Airflow {flavor}, {mode} mode: the DAG does not import: {type(e).__name__}: {e}")
                continue
            self.check(not RECORD.deprecated,
                       f"Airflow {flavor}, {mode} mode: imports through deprecation shims: {', '.join(RECORD.deprecated)}")
            want = BashOperator if mode == "bash" else KubernetesPodOperator
            steps = [dag.tasks.get(t) for t in STEPS + [ALERT]]
            self.check(all(isinstance(t, want) for t in steps),
                       f"Airflow {flavor}, {mode} mode: tasks are {[type(t).__name__ for t in steps]}, expected {want.__name__}")
            schedule = dag.kwargs.get("schedule")
            self.check(isinstance(schedule, CronDataIntervalTimetable) and schedule.cron == "0 */6 * * *" and schedule.timezone == "UTC",
                       f"Airflow {flavor}: schedule {schedule!r}: a cron string is a CronTriggerTimetable on Airflow 3 "
                       "(zero-length data interval); expected CronDataIntervalTimetable('0 */6 * * *', timezone='UTC')")

    # -- item 5 and the alert --------------------------------------------------------------------------------------

    def alert(self):
        for flavor, mode in itertools.product((2, 3), ("bash", "kubernetes")):
            _, dag = self.load(flavor, mode)
            label = f"Airflow {flavor}, {mode} mode"
            callbacks = [(t.task_id, t.on_failure_callback) for t in dag.tasks.values() if t.on_failure_callback]
            if dag.on_failure_callback:
                callbacks.append(("the DAG", dag.on_failure_callback))
            # A callback, if there is one, must survive every kind of run and start nothing outside the DAG.
            for owner, callback in callbacks:
                for name, fl, run_id, logical, interval, run_after, conf, variables, _ in RUNS:
                    if fl != flavor or owner not in dag.tasks:
                        continue
                    RECORD.executed_outside.clear()
                    RECORD.xcom_pushes.clear()
                    context = make_context(dag, dag.tasks[owner], airflow=fl, run_id=run_id, logical_date=logical,
                                           interval=interval, run_after=run_after, conf=conf, variables=variables,
                                           try_number=4)
                    with _no_breadboard_on_path():
                        try:
                            for cb in callback if isinstance(callback, list) else [callback]:
                                cb(context)
                            raised = None
                        except Exception as e:  # noqa: BLE001
                            raised = e
                    self.check(raised is None, f"{mode} mode, {name}: the failure callback of {owner} raises "
                                               f"{type(raised).__name__}: {raised}")
                    self.check(not RECORD.executed_outside,
                               f"{mode} mode, {name}: the failure callback of {owner} calls "
                               f"{', '.join(RECORD.executed_outside)} outside the DAG"
                               + (f", pushing XCom {RECORD.xcom_pushes} onto the failed task" if RECORD.xcom_pushes else ""))

            alert = dag.tasks.get(ALERT)
            self.check(alert is not None, f"{label}: no task {ALERT}: nothing publishes alerts.batch_failed "
                                          "from within the DAG")
            if alert is None:
                continue
            self.check(alert.trigger_rule == "one_failed" and alert.upstream == set(STEPS),
                       f"{label}: {ALERT} has trigger rule {alert.trigger_rule} after {sorted(alert.upstream)}; "
                       f"expected one_failed after {STEPS}")
            # The run's outcome by Airflow's rules: ONE_FAILED (TriggerRuleDep) and leaves (DagRun.update_state).
            for failing, (want_alert, want_run) in {None: ("skipped", "success"), "fetch_symbols": ("runs", "failed"),
                                                    "validate_data": ("runs", "failed"), "write_clickhouse": ("runs", "failed")}.items():
                states = _simulate(dag, failing)
                alert_state = "runs" if states.get(ALERT) == "success" else states.get(ALERT)
                self.check((alert_state, _run_state(dag, states)) == (want_alert, want_run),
                           f"{label}: when {failing or 'nothing'} fails, {ALERT} {alert_state} and the run is "
                           f"marked {_run_state(dag, states)}; expected {want_alert} and {want_run}")

    def all(self):
        for part in (self.imports, self.runs, self.hostile, self.retries, self.alert):
            try:
                part()
            except Exception as e:  # noqa: BLE001 - a broken DAG is a failed check, not a crash
                self.check(False, f"{part.__name__}: {type(e).__name__}: {e}")


@contextlib.contextmanager
def _no_breadboard_on_path():
    """A callback running where no breadboard is installed (the Airflow image, the DAG processor)."""
    saved = os.environ.get("PATH")
    os.environ["PATH"] = os.pathsep.join(p for p in (saved or "").split(os.pathsep) if not shutil.which("breadboard", path=p))
    try:
        yield
    finally:
        os.environ["PATH"] = saved or ""


def _simulate(dag: DAG, failing: str | None) -> dict[str, str]:
    """Final task states when `failing` fails for good and every other task that runs succeeds."""
    states: dict[str, str] = {}
    pending = dict(dag.tasks)
    while pending:
        progressed = False
        for task_id, task in list(pending.items()):
            ups = [states.get(u) for u in task.upstream]
            if any(s is None for s in ups):
                continue
            failed = any(s in ("failed", "upstream_failed") for s in ups)
            if task.trigger_rule == "one_failed":
                state = "skipped" if not failed else ("failed" if task_id == failing else "success")
            elif task.trigger_rule == "all_success":
                state = "upstream_failed" if failed else ("skipped" if any(s == "skipped" for s in ups) else ("failed" if task_id == failing else "success"))
            else:
                raise AssertionError(f"{task_id}: trigger rule {task.trigger_rule} not simulated")
            states[task_id] = state
            del pending[task_id]
            progressed = True
        if not progressed:
            raise AssertionError(f"tasks {sorted(pending)} never become ready")
    return states


def _run_state(dag: DAG, states: dict[str, str]) -> str:
    leaves = [states[t.task_id] for t in dag.leaves]
    if any(s in ("failed", "upstream_failed") for s in leaves):
        return "failed"
    return "success" if all(s in ("success", "skipped") for s in leaves) else "running"


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 1 or any(a != "--print" for a in argv if a.startswith("--")):
        print("usage: render_dag.py DAG_FILE [--print]", file=sys.stderr)
        return 2
    if not os.path.isfile(args[0]):
        print(f"{args[0]}: no such file", file=sys.stderr)
        return 2
    checks = Checks(os.path.abspath(args[0]), "--print" in argv)
    try:
        checks.all()
    finally:
        checks.close()
    for p in checks.problems:
        print(p)
    if checks.problems:
        print(f"{len(checks.problems)} failed, {checks.passed} passed", file=sys.stderr)
        return 1
    print("ok")
    print(f"{checks.passed} checks passed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
