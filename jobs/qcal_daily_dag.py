"""Airflow DAG: qcal as a scheduled production job, one run a day.

Each day D: calibrate D's partition, merge the runs of the last window_days dates (statistics merge exactly, so the
window equals one calibration over all its data; they cannot be subtracted, so each window is a new merge), check
D's data against the published parameters (qcal drift), evaluate the window's quantized model on held-out data,
and publish it atomically to the stable location only when a trigger fires (nothing published yet, drift found, or
the publication is republish_after_days old) and the evaluation meets the gate (min_agreement, min_sqnr).

The steps and their command lines come from jobs/qcal_daily.py (no Airflow needed there), which reads the JSON
config named by QCAL_DAILY_CONFIG (default jobs/example-daily.json); Spark steps (calibrate, evaluate) go through
scripts/submit with the job file it names, the others through scripts/qcal. Exit codes: 0 ok; 2 bad input
(retrying will not help); 3 failure; 4 = drift found (accepted: publish reads drift.json) or, from publish, the
candidate failed the gate (the task fails: somebody should look; the published model is unchanged).
tests: src/test/java/dev/qcal/jobs/DailyScheduleTest.java runs the steps of jobs/qcal_daily.py for three
consecutive dates on local Spark, with a distribution shift on the third, and checks what is published each day.
"""
import json
import os
import subprocess
import sys

import pendulum
from airflow import DAG
from airflow.decorators import task
from airflow.exceptions import AirflowFailException, AirflowSkipException

QCAL_HOME = os.environ.get("QCAL_HOME", "/opt/qcal")
CONFIG = os.environ.get("QCAL_DAILY_CONFIG", f"{QCAL_HOME}/jobs/example-daily.json")
sys.path.insert(0, f"{QCAL_HOME}/jobs")
import qcal_daily  # noqa: E402


def run_step(name, ds):
    """Runs step `name` of date ds as qcal_daily plans it; skipped when the plan has no such step."""
    with open(CONFIG) as f:
        config = json.load(f)
    config.setdefault("qcal_home", QCAL_HOME)
    plan = {s["task"]: s for s in qcal_daily.steps(config, ds)}
    if name not in plan:
        raise AirflowSkipException(f"{name}: not planned for {ds} (nothing published yet)")
    step = plan[name]
    rc = subprocess.run(qcal_daily.command(config, step), cwd=QCAL_HOME).returncode
    if rc == 2:
        raise AirflowFailException(f"{name}: bad input (exit 2); retrying will not help")
    if rc not in step["ok_exit_codes"]:
        raise RuntimeError(f"{name}: exit {rc}")
    return rc


with DAG(
    dag_id="qcal_daily_calibration",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 12, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # a window reads the runs of earlier dates
    tags=["qcal"],
    default_args={"retries": 1},
) as dag:

    @task
    def calibrate(ds=None):
        return run_step("calibrate", ds)

    @task
    def merge(ds=None):
        return run_step("merge", ds)

    @task
    def drift(ds=None):
        return run_step("drift", ds)

    @task
    def evaluate(ds=None):
        return run_step("evaluate", ds)

    @task(trigger_rule="none_failed")
    def publish(ds=None):
        return run_step("publish", ds)

    c, m, d, e, p = calibrate(), merge(), drift(), evaluate(), publish()
    c >> m >> e
    c >> d
    [d, e] >> p
