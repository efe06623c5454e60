"""Explicit finite differences for the 1-D heat equation u_t = nu * u_xx on [0, 1], checked
against its exact solution.

The ends are held at zero and the initial profile is a sum of sine modes read from JSON
({"modes": [{"k": 1, "a": 1.0}, ...]}). Mode k decays as exp(-nu * (k * pi)^2 * t), so the exact
solution is known and every run reports its own error: refining the grid two-fold should divide
it by about four. FTCS in time up to t_end with dt <= cfl * h^2 / nu (stable for cfl <= 0.5).
Pure Python, no numpy. Writes out/profile.csv, out/summary.json and diffusion.log (one `step`
line per percent, then `done`).
"""

import argparse
import json
import math
import pathlib
import sys
import time


def exact(modes: list, nu: float, t: float, x: float) -> float:
    """The exact solution at (x, t): each sine mode decays at its own rate."""
    return sum(m["a"] * math.exp(-nu * (m["k"] * math.pi) ** 2 * t) * math.sin(m["k"] * math.pi * x)
               for m in modes)


def solve(u: list, nu: float, t_end: float, cfl: float, log) -> tuple:
    """Advance to t_end with the largest stable step not above cfl * h^2 / nu."""
    n = len(u) - 2
    h = 1.0 / (n + 1)
    steps = max(1, math.ceil(t_end * nu / (cfl * h * h)))
    dt = t_end / steps
    r = nu * dt / (h * h)
    report = max(1, steps // 100)
    bound = max(abs(v) for v in u) * (1 + 1e-9)  # the heat equation never exceeds its initial max
    for k in range(1, steps + 1):
        u = [0.0] + [u[i] + r * (u[i - 1] - 2.0 * u[i] + u[i + 1]) for i in range(1, n + 1)] + [0.0]
        if k % report == 0:
            log(f"step {k}/{steps} t={k * dt:.6g} max={max(u):.6g}")
        if not max(abs(v) for v in u) <= bound:
            raise FloatingPointError(f"unstable at step {k}: the solution grew (cfl={cfl} > 0.5?)")
    return u, steps


def run(args: argparse.Namespace, log) -> int:
    """Solve, compare with the exact solution, write the outputs; 0 on success."""
    t0 = time.perf_counter()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    modes = json.loads(pathlib.Path(args.init).read_text())["modes"]
    xs = [i / (args.n + 1) for i in range(args.n + 2)]
    log(f"start nu={args.nu} n={args.n} t_end={args.t_end} cfl={args.cfl} modes={len(modes)}")
    try:
        u, steps = solve([exact(modes, args.nu, 0.0, x) for x in xs], args.nu, args.t_end, args.cfl, log)
    except FloatingPointError as exc:
        log(f"error {exc}")
        print(exc, file=sys.stderr)
        return 2
    want = [exact(modes, args.nu, args.t_end, x) for x in xs]
    error = max(abs(a - b) for a, b in zip(u, want))
    with open(out / "profile.csv", "w") as fh:
        fh.write("x,u,exact\n")
        fh.writelines(f"{x:.6g},{a:.9g},{b:.9g}\n" for x, a, b in zip(xs, u, want))
    summary = {"nu": args.nu, "n": args.n, "t_end": args.t_end, "cfl": args.cfl, "steps": steps,
               "max": max(u), "exact_max": max(want), "max_error": error,
               "relative_error": error / max(abs(v) for v in want),
               "seconds": round(time.perf_counter() - t0, 3)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"done t={args.t_end:.6g} steps={steps} max_error={error:.3g} "
        f"relative_error={summary['relative_error']:.3g}")
    print(json.dumps(summary))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nu", type=float, required=True, help="diffusivity")
    ap.add_argument("--n", type=int, required=True, help="interior grid points")
    ap.add_argument("--t-end", type=float, required=True, help="physical end time")
    ap.add_argument("--cfl", type=float, default=0.4, help="dt * nu / h^2 (<= 0.5)")
    ap.add_argument("--init", required=True, help="JSON file with the initial sine modes")
    ap.add_argument("--out", default="out", help="output folder")
    args = ap.parse_args()
    with open("diffusion.log", "w", buffering=1) as logfile:  # line-buffered: tailed while it runs
        return run(args, lambda line: logfile.write(line + "\n"))


if __name__ == "__main__":
    sys.exit(main())
