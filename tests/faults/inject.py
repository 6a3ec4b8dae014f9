#!/usr/bin/env python3
"""Fault injection for pretext-train: kills, signals, a full disk and damaged checkpoints at
random points, then resumes each run to its end and compares its curve with a straight run.

Usage: inject.py PRETEXT_TRAIN WORKDIR [--trials N] [--seed S] [--report FILE]

Every trial starts the same short run (quick-test, logged every 2 steps), injects one fault
at a random moment, and resumes the run until it finishes. A trial fails when a process
crashes instead of exiting with its documented code, when a resume is refused although an
intact checkpoint exists, or when the finished run's loss curve differs from the straight
run's in any logged step ("lost steps"). Exit status: 0 when no trial failed.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

STEPS = 30
LOG_EVERY = 2
COMMON = ["quick-test", "--quiet", "--max-steps", str(STEPS),
          "--set", f"trainer.log_every={LOG_EVERY}",
          "--set", "trainer.snapshot_every=5", "--set", "trainer.keep_checkpoints=3"]
FAULTS = ["sigkill", "sigterm", "sigint", "sigkill-in-checkpoint", "disk-full",
          "corrupt-model", "truncate-model", "bad-latest", "no-latest", "escape-latest"]


def first_run(root):
    if not os.path.isdir(root):
        return None
    names = sorted(n for n in os.listdir(root) if not n.startswith("."))
    return os.path.join(root, names[0]) if names else None


def status(run):
    try:
        with open(os.path.join(run, "status.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def loss_curve(run):
    """step -> value of loss/total, resume-aware (docs/run-format.md)."""
    rows = []
    with open(os.path.join(run, "metrics.csv")) as f:
        for line in f:
            if not line.endswith("\n") or line.startswith("segment,"):
                continue
            seg, step, _wall, key, value = line.rstrip("\n").split(",")
            seg, step = int(seg), int(step)
            if key == "run/resumed_from":
                rows = [r for r in rows if not (r[0] < seg and r[1] > step)]
            elif key == "loss/total":
                rows.append((seg, step, float(value)))
    return {step: value for _seg, step, value in rows}


def wait_for_step(root, step, proc, limit=120):
    deadline = time.time() + limit
    while time.time() < deadline:
        run = first_run(root)
        st = status(run) if run else None
        if st and st.get("step", 0) >= step:
            return run
        if proc.poll() is not None:
            return first_run(root)
        time.sleep(0.005)
    return first_run(root)


def checkpoints(run):
    ck = os.path.join(run, "checkpoints")
    return [os.path.join(ck, n) for n in sorted(os.listdir(ck)) if n.startswith("step_")]


def first_resume(run):
    """The step the first resume started from (its marker row), or None."""
    with open(os.path.join(run, "metrics.csv")) as f:
        for line in f:
            parts = line.rstrip("\n").split(",")
            if len(parts) == 5 and parts[3] == "run/resumed_from":
                return int(parts[1])
    return None


class Trial:
    def __init__(self, exe, root, rng):
        self.exe, self.root, self.rng = exe, root, rng
        self.notes = []
        self.expected_resume = None  # the checkpoint a resume must pick after damage

    def start(self, extra=()):
        return subprocess.Popen([self.exe, *COMMON, "--out", self.root, *extra],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def expect(self, proc, codes, what):
        try:
            _out, err = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"{what}: hung for 300 s")
        if proc.returncode not in codes:
            raise AssertionError(f"{what}: exit {proc.returncode}, expected {codes}: "
                                 f"{err.strip()[-400:]}")
        return err

    def signal_at_random_step(self, sig, extra=()):
        proc = self.start(extra)
        at = self.rng.randint(1, STEPS - 2)
        run = wait_for_step(self.root, at, proc)
        time.sleep(self.rng.uniform(0, 0.05))
        proc.send_signal(sig)
        self.notes.append(f"signal {sig} after step {at}")
        codes = {-signal.SIGKILL, 0} if sig == signal.SIGKILL else {130, 0}
        self.expect(proc, codes, f"signal {sig}")
        if sig != signal.SIGKILL and proc.returncode == 130:
            st = status(run)
            if not st or st.get("phase") != "stopped":
                raise AssertionError(f"after signal {sig}: status {st}")
        return run

    def disk_full(self):
        # A checkpoint of quick-test takes 1.8 MB, a snapshot 0.1 MB: every size here fills
        # up before step STEPS, at a checkpoint or a snapshot depending on the size.
        size = self.rng.choice(["2m", "3m", "4m", "5m", "6m"])
        disk = self.root + "-disk"
        os.makedirs(disk, exist_ok=True)
        cmd = (f"mount -t tmpfs -o size={size} tmpfs {disk} || exit 99; "
               f"{self.exe} {' '.join(COMMON)} --out {disk}/runs "
               f"--set trainer.snapshot_every=1 --set trainer.checkpoint_every=3; code=$?; "
               f"cp -r {disk}/runs {self.root}; exit $code")
        res = subprocess.run(["unshare", "-rm", "sh", "-c", cmd], capture_output=True, text=True,
                             timeout=600)
        self.notes.append(f"tmpfs {size}")
        if res.returncode == 99:
            raise AssertionError("cannot mount a tmpfs in a user namespace here")
        if res.returncode != 1 or "no space left" not in res.stderr:
            raise AssertionError(f"full disk: exit {res.returncode}: {res.stderr.strip()[-400:]}")
        run = first_run(self.root)
        st = status(run)
        if not st or st.get("phase") != "failed":
            raise AssertionError(f"full disk: status {st}")
        return run

    def damage(self, how):
        proc = self.start(["--until-step", str(self.rng.randint(6, STEPS - 2)),
                           "--set", "trainer.checkpoint_every=3"])
        self.expect(proc, {130, 0}, "run to --until-step")
        run = first_run(self.root)
        kept = checkpoints(run)
        ck = kept[-1]
        # Damage to the newest checkpoint falls back to the one before it; damage to
        # latest.json alone to the newest. Restarting from step 0 would reproduce the curve
        # too, so the resume point is checked as well.
        step_of = lambda path: int(os.path.basename(path)[5:])
        self.expected_resume = (step_of(kept[-2]) if len(kept) > 1 else 0) \
            if how in ("corrupt-model", "truncate-model") else step_of(ck)
        latest = os.path.join(run, "checkpoints", "latest.json")
        if how == "corrupt-model":
            path = os.path.join(ck, "model.pt")
            with open(path, "r+b") as f:
                size = os.path.getsize(path)
                at = self.rng.randrange(size)
                f.seek(at)
                b = f.read(1)
                f.seek(at)
                f.write(bytes([b[0] ^ (1 << self.rng.randrange(8))]))
            self.notes.append(f"flipped a bit at byte {at} of {os.path.basename(ck)}/model.pt")
        elif how == "truncate-model":
            path = os.path.join(ck, self.rng.choice(["model.pt", "optimizer.pt", "state.json"]))
            os.truncate(path, self.rng.randrange(os.path.getsize(path)))
            self.notes.append(f"truncated {path}")
        elif how == "bad-latest":
            with open(latest, "w") as f:
                f.write(self.rng.choice(["{bad", "", "[]", '{"dir": 5, "step": "x"}']))
        elif how == "no-latest":
            os.remove(latest)
        elif how == "escape-latest":
            with open(latest, "w") as f:
                json.dump({"dir": "../../elsewhere/checkpoints/step_000000099", "step": 99,
                           "segment": 1}, f)
        return run

    def finish(self, run):
        """Resumes until the run has finished; returns the number of resumes."""
        for attempt in range(4):
            st = status(run)
            if st and st.get("phase") == "finished":
                return attempt
            res = subprocess.run([self.exe, "--quiet", "--resume", run, "--max-steps", str(STEPS)],
                                 capture_output=True, text=True, timeout=600)
            if res.returncode != 0:
                raise AssertionError(f"resume: exit {res.returncode}: {res.stderr.strip()[-400:]}")
        raise AssertionError("not finished after 4 resumes")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exe")
    ap.add_argument("workdir")
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--report", default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    t0 = time.time()

    ref_root = os.path.join(args.workdir, "straight")
    subprocess.run([args.exe, *COMMON, "--out", ref_root], check=True, stdout=subprocess.DEVNULL)
    reference = loss_curve(first_run(ref_root))
    assert len(reference) == STEPS // LOG_EVERY, reference

    results = []
    for i in range(args.trials):
        fault = FAULTS[i % len(FAULTS)] if i < len(FAULTS) else rng.choice(FAULTS)
        trial = Trial(args.exe, os.path.join(args.workdir, f"t{i:03d}"), rng)
        ok, lost, why = True, 0, ""
        try:
            if fault.startswith("sig"):
                sig = {"sigkill": signal.SIGKILL, "sigterm": signal.SIGTERM,
                       "sigint": signal.SIGINT, "sigkill-in-checkpoint": signal.SIGKILL}[fault]
                extra = ["--set", "trainer.checkpoint_every=1"] if "checkpoint" in fault else []
                run = trial.signal_at_random_step(sig, extra)
            elif fault == "disk-full":
                run = trial.disk_full()
            else:
                run = trial.damage(fault)
            if run is None:
                raise AssertionError("no run directory was created")
            trial.finish(run)
            if trial.expected_resume is not None and first_resume(run) != trial.expected_resume:
                raise AssertionError(f"resumed from step {first_resume(run)}, expected the intact "
                                     f"checkpoint at {trial.expected_resume}")
            curve = loss_curve(run)
            lost = sum(1 for s, v in reference.items()
                       if s not in curve or abs(curve[s] - v) > 1e-5 * max(1.0, abs(v)))
            if lost:
                ok, why = False, f"{lost} logged steps differ from the straight run"
        except (AssertionError, subprocess.TimeoutExpired, OSError) as e:
            ok, why = False, str(e)
        results.append({"trial": i, "fault": fault, "ok": ok, "lost_steps": lost,
                        "notes": trial.notes, "error": why})
        print(f"trial {i:3d} {fault:22s} {'ok' if ok else 'FAILED: ' + why}", flush=True)
        if ok:
            shutil.rmtree(trial.root, ignore_errors=True)
            shutil.rmtree(trial.root + "-disk", ignore_errors=True)

    failed = [r for r in results if not r["ok"]]
    lost = sum(r["lost_steps"] for r in results)
    summary = {"seed": seed, "trials": len(results), "failures": len(failed), "lost_steps": lost,
               "seconds": round(time.time() - t0, 1),
               "by_fault": {f: sum(1 for r in results if r["fault"] == f) for f in FAULTS}}
    print(json.dumps(summary))
    if args.report:
        os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
        with open(args.report, "w") as f:
            json.dump({"summary": summary, "trials": results}, f, indent=1)
    print(f"faults: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
