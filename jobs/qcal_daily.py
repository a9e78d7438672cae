"""The commands of qcal's daily calibration for one date, in order (the Airflow DAG jobs/qcal_daily_dag.py runs
them; this file needs no Airflow, so the same steps run and are tested without it).

    python3 jobs/qcal_daily.py --config jobs/example-daily.json --ds 2026-12-07 [--print | --run]

--print (the default) prints the steps as JSON: [{"task", "launcher", "args", "ok_exit_codes"}, ...]; --run runs
them with the launchers (scripts/submit JOB -- ARGS for Spark steps, scripts/qcal ARGS for the others) and stops at
the first exit code a step does not accept (config "job_file": the Spark settings, as jobs/example-daily.properties). The steps for date D:

  calibrate  D's partition (config "data" with {ds} replaced) -> WORK/runs/D
  merge      the runs of the last "window_days" dates that completed (a _SUCCESS marker) -> WORK/windows/D
  drift      D's run against the published parameters -> WORK/drift/D (only once something is published; exit 4 =
             drift found is accepted: publish reads drift.json)
  evaluate   the window's quantized.onnx against the FP32 model on held-out data -> WORK/eval/D
  publish    the window's output -> "published", when nothing is published yet, drift was found or the
             publication is "republish_after_days" old, and the evaluation meets "min_agreement"/"min_sqnr"
             (exit 4 = refused by the gate fails the task: somebody should look)

Statistics cannot be subtracted: each day's window is a new merge of the runs it spans. The plan is made from the
file system at the start of the date's run (which runs exist, whether something is published); nothing the
steps write changes it. Paths may be local or Hadoop URIs (hdfs://...; checked with `hadoop fs -test`).
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

SPARK_STEPS = ("calibrate", "evaluate")


def exists(path):
    """Whether path (local, file: or a Hadoop URI) exists."""
    if "://" not in path or path.startswith("file://"):
        return os.path.exists(path[len("file://"):] if path.startswith("file://") else path)
    return subprocess.run(["hadoop", "fs", "-test", "-e", path]).returncode == 0


def join(base, *parts):
    return "/".join([base.rstrip("/")] + list(parts))


def steps(config, ds):
    """The qcal command lines of date ds: a list of dicts with task, launcher, args and ok_exit_codes."""
    day = datetime.date.fromisoformat(ds)
    work = config["work"]
    model = config["model"]
    published = config["published"]
    run = join(work, "runs", ds)
    window = join(work, "windows", ds)
    drift = join(work, "drift", ds)
    evaluation = join(work, "eval", ds)
    out = []

    def step(task, args, ok=(0,)):
        out.append({"task": task, "launcher": "submit" if args[0] in SPARK_STEPS else "qcal", "args": args,
                    "ok_exit_codes": list(ok)})

    step("calibrate", ["calibrate", "--model", model, "--data", config["data"].replace("{ds}", ds), "--out", run,
                       "--overwrite"] + config.get("calibrate_args", []))
    stats = []
    for back in range(int(config.get("window_days", 7)) - 1, -1, -1):
        d = (day - datetime.timedelta(days=back)).isoformat()
        r = join(work, "runs", d)
        if d == ds or exists(join(r, "_SUCCESS")):
            stats += ["--stats", r]
    step("merge", ["merge", "--model", model] + stats + ["--out", window, "--overwrite"])
    has_published = exists(join(published, "_SUCCESS"))
    if has_published:
        step("drift", ["drift", "--baseline", published, "--current", run, "--out", drift, "--overwrite"]
             + config.get("drift_args", []), ok=(0, 4))
    step("evaluate", ["evaluate", "--fp32", model, "--quantized", join(window, "quantized.onnx"), "--data",
                      config["heldout"], "--out", evaluation, "--overwrite"] + config.get("evaluate_args", []))
    gate = []
    if config.get("min_agreement") is not None:
        gate += ["--gate-agreement", str(config["min_agreement"])]
    if config.get("min_sqnr") is not None:
        gate += ["--gate-sqnr", str(config["min_sqnr"])]
    step("publish", ["publish", "--candidate", window, "--out", published, "--overwrite", "--date", ds]
         + (["--drift", drift] if has_published else [])
         + ["--republish-after", str(int(config.get("republish_after_days", 7))), "--eval", evaluation] + gate)
    return out


def command(config, step):
    """The process that runs one step: scripts/submit (Spark) or scripts/qcal, from QCAL_HOME."""
    home = config.get("qcal_home", os.environ.get("QCAL_HOME", "."))
    if step["launcher"] == "submit":
        # the job file holds the Spark settings; the command and its options travel on the command line
        return [join(home, "scripts", "submit"), config["job_file"], "--conf", "qcal.command=" + step["args"][0],
                "--"] + step["args"][1:]
    return [join(home, "scripts", "qcal")] + step["args"]


def main(argv):
    p = argparse.ArgumentParser(description="qcal's daily calibration steps for one date")
    p.add_argument("--config", required=True, help="a JSON file: model, data ({ds}), heldout, work, published, ...")
    p.add_argument("--ds", required=True, help="the date, YYYY-MM-DD")
    p.add_argument("--run", action="store_true", help="run the steps instead of printing them")
    a = p.parse_args(argv)
    with open(a.config) as f:
        config = json.load(f)
    plan = steps(config, a.ds)
    if not a.run:
        print(json.dumps(plan, indent=1))
        return 0
    for s in plan:
        rc = subprocess.run(command(config, s)).returncode
        if rc not in s["ok_exit_codes"]:
            print(f"qcal_daily: {s['task']} exited {rc}", file=sys.stderr)
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
