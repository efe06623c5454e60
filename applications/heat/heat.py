"""Explicit finite-difference solver for the 2-D heat equation u_t = nu * (u_xx + u_yy).

The unit square, zero (Dirichlet) boundary, an initial field from a JSON description (a sum of
Gaussian bumps). FTCS in time up to t_end, with dt <= cfl * h^2 / nu (stable for cfl <= 0.25). Writes the final
field (out/field.npy), a summary (out/summary.json: the heat left and the rate at which it decayed)
and a log with one `step` line per percent.
"""

import argparse
import json
import math
import pathlib
import sys
import time

import numpy as np


def initial_field(spec: dict, n: int) -> np.ndarray:
    """Sample the initial condition on the n x n interior grid (plus the boundary)."""
    x = np.linspace(0.0, 1.0, n + 2)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    u = np.zeros_like(xx)
    for bump in spec["bumps"]:
        r2 = (xx - bump["x"]) ** 2 + (yy - bump["y"]) ** 2
        u += bump["amplitude"] * np.exp(-r2 / (2.0 * bump["sigma"] ** 2))
    u[0, :] = u[-1, :] = u[:, 0] = u[:, -1] = 0.0
    return u


def solve(u: np.ndarray, nu: float, t_end: float, cfl: float, log) -> tuple[np.ndarray, int]:
    """Advance to t_end with the largest stable step not above cfl * h^2 / nu."""
    h = 1.0 / (u.shape[0] - 1)
    steps = max(1, math.ceil(t_end * nu / (cfl * h * h)))
    dt = t_end / steps
    report = max(1, steps // 100)
    for k in range(1, steps + 1):
        lap = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4.0 * u[1:-1, 1:-1]
        u[1:-1, 1:-1] += (nu * dt / (h * h)) * lap
        if k % report == 0:
            log(f"step {k}/{steps} t={k * dt:.6g} max={u.max():.6g}")
        if not np.isfinite(u[1:-1, 1:-1]).all():
            raise FloatingPointError(f"the solution blew up at step {k} (cfl={cfl})")
    return u, steps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nu", type=float, required=True, help="diffusivity")
    ap.add_argument("--n", type=int, required=True, help="interior grid points per side")
    ap.add_argument("--t-end", type=float, required=True, help="physical end time")
    ap.add_argument("--cfl", type=float, default=0.2, help="dt * nu / h^2 (<= 0.25)")
    ap.add_argument("--init", required=True, help="JSON file with the initial bumps")
    ap.add_argument("--out", default="out", help="output folder")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logfile = open("heat.log", "w", buffering=1)

    def log(line: str) -> None:
        logfile.write(line + "\n")

    t0 = time.perf_counter()
    u0 = initial_field(json.loads(pathlib.Path(args.init).read_text()), args.n)
    heat0 = float(u0.sum()) / (args.n + 1) ** 2
    log(f"start nu={args.nu} n={args.n} t_end={args.t_end} cfl={args.cfl}")
    try:
        u, steps = solve(u0.copy(), args.nu, args.t_end, args.cfl, log)
    except FloatingPointError as exc:
        log(f"error {exc}")
        print(exc, file=sys.stderr)
        return 2
    heat = float(u.sum()) / (args.n + 1) ** 2
    np.save(out / "field.npy", u)
    ratio = heat / heat0 if heat0 else math.nan
    # the mean rate at which the heat decays: heat(t_end) = heat(0) * exp(-decay_rate * t_end)
    rate = -math.log(ratio) / args.t_end if ratio > 0 else math.nan
    summary = {"nu": args.nu, "n": args.n, "t_end": args.t_end, "steps": steps,
               "max": float(u.max()), "heat": heat, "heat_ratio": ratio, "decay_rate": rate,
               "seconds": round(time.perf_counter() - t0, 3)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"done t={args.t_end:.6g} steps={steps} max={summary['max']:.6g} heat_ratio={summary['heat_ratio']:.6g}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
