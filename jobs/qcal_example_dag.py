"""Airflow DAG: calibrate the bundled qcal example with spark-submit.

Renders the example's calibration data, runs `qcal calibrate` with SparkSubmitOperator (settings from
the job file jobs/example-calibrate.properties), then pushes run.json (paths, counts, durations,
Spark application id) to XCom. To quantize again or evaluate from Airflow, add tasks like calibrate's
with application_args from `qcal quantize --help` or `qcal evaluate --help` (both commands exist; this
example DAG runs calibrate only).

Needs apache-airflow-providers-apache-spark and a Spark connection (conn_id "spark_default") whose
host is the master (yarn, k8s://..., spark://host:7077, local[*]). QCAL_HOME is this repository with
the job jar built (mvn -DskipTests package). Exit codes: 0 ok; 2 bad input (retrying will not
help); 3 runtime failure. Outputs appear atomically (_SUCCESS last), so a downstream task never
sees a half-written directory, and a rerun with --overwrite replaces the previous output.
tests: src/test/java/dev/qcal/cli/AirflowDagTest.java checks every option below against the CLI.
"""
import json
import os

import pendulum
from airflow import DAG
from airflow.decorators import task
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

QCAL_HOME = os.environ.get("QCAL_HOME", "/opt/qcal")
JAR = f"{QCAL_HOME}/target/qcal-0.1.0-SNAPSHOT.jar"
JOB_FILE = f"{QCAL_HOME}/jobs/example-calibrate.properties"
EXAMPLE = f"{QCAL_HOME}/examples/ppocr-cls"
DATA = f"{EXAMPLE}/data/calib"
# one output directory per run date; use an hdfs:// URI on a cluster
OUT = f"{QCAL_HOME}/out/example-ppocr-cls/{{{{ ds }}}}"


def job_settings(path):
    """The job file's lines as a dict: qcal.command and spark.* settings."""
    settings = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "!")):
                key, _, value = line.partition("=")
                settings[key.strip()] = value.strip()
    return settings


JOB = job_settings(JOB_FILE) if os.path.exists(JOB_FILE) else {"qcal.command": "calibrate"}
# master and deploy mode come from the Airflow connection; the rest travel as --conf
SPARK_CONF = {k: v for k, v in JOB.items()
              if k.startswith("spark.") and k not in ("spark.master", "spark.submit.deployMode")}
DRIVER_OPTS = f"-Dlog4j2.configurationFile={QCAL_HOME}/conf/log4j2.properties"

with DAG(
    dag_id="qcal_example_calibrate",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["qcal"],
    default_args={"retries": 1},
) as dag:
    example_data = SparkSubmitOperator(
        task_id="example_data",
        conn_id="spark_default",
        application=JAR,
        java_class="dev.qcal.cli.Main",
        application_args=["example-data", "--out", DATA, "--count", "512", "--seed", "1"],
        driver_memory="1g",
        driver_java_options=DRIVER_OPTS,
    )

    calibrate = SparkSubmitOperator(
        task_id="calibrate",
        conn_id="spark_default",
        application=JAR,
        java_class="dev.qcal.cli.Main",
        conf=SPARK_CONF,
        application_args=["calibrate", "--model", f"{EXAMPLE}/ch_ppocr_mobile_v2.0_cls_infer.onnx",
                          "--data", f"{DATA}/x", "--out", OUT, "--overwrite"],
        driver_java_options=DRIVER_OPTS,
    )

    @task
    def run_summary(ds=None):
        """run.json of the calibration, pushed to XCom (a local path here; use an HDFS client for hdfs://)."""
        out = f"{QCAL_HOME}/out/example-ppocr-cls/{ds}"
        with open(os.path.join(out, "_SUCCESS")):
            pass
        with open(os.path.join(out, "run.json")) as f:
            return json.load(f)

    example_data >> calibrate >> run_summary()
