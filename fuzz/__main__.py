"""``python -m fuzz [--cases N] [--seed S] [--jobs J]``: a fuzz campaign against the CLI; exit 1 on any
non-clean outcome (see :mod:`fuzz.driver`)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fuzz.driver import CLEAN, run_case, summary
from fuzz.seeds import build_seeds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0, help="campaign seed: case i is reproducible from (seed, i)")
    ap.add_argument("--first", type=int, default=0, help="index of the first case (rerun one case with --cases 1)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds before a case counts as a hang")
    ap.add_argument("--max-mb", type=float, default=2048.0, help="peak memory (MB) beyond which a case fails")
    ap.add_argument("--work", type=Path, help="keep cases here (default: a temporary folder, removed)")
    ap.add_argument("--seeds", type=Path, default=Path(__file__).parent / ".seeds", help="seed artifact cache")
    ap.add_argument("--json", type=Path, help="write the summary here")
    args = ap.parse_args(argv)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    seeds = build_seeds(args.seeds.resolve())
    tmp = None if args.work else tempfile.TemporaryDirectory(prefix="edge-gru-fuzz-")
    work = (args.work or Path(tmp.name)).resolve()
    t0 = time.perf_counter()
    outcomes = []
    with Progress(TextColumn("fuzz"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[info]}")) as prog, ThreadPoolExecutor(args.jobs) as pool:
        task = prog.add_task("fuzz", total=args.cases, info="")
        futures = [pool.submit(run_case, i, args.seed, seeds, work, args.timeout, args.max_mb)
                   for i in range(args.first, args.first + args.cases)]
        for f in futures:
            o = f.result()
            outcomes.append(o)
            bad = sum(x.outcome not in (*CLEAN, "skipped") for x in outcomes)
            prog.update(task, advance=1, info=f"non-clean {bad}")
            if o.outcome not in (*CLEAN, "skipped"):
                prog.console.print(f"[red]case {o.case} {o.kind}: {o.outcome}[/] ({o.mutation}) "
                                   f"edge-gru {' '.join(o.command)}\n  {o.stderr_tail}")
    s = summary(outcomes)
    s["seconds"] = round(time.perf_counter() - t0, 1)
    s["seed"], s["jobs"] = args.seed, args.jobs
    if args.json:
        args.json.write_text(json.dumps(s, indent=2))
    print(json.dumps({k: s[k] for k in ("cases", "by_outcome", "peak_mb_max", "seconds_max", "seconds")}, indent=1))
    if tmp is not None:
        tmp.cleanup()
    return 1 if s["non_clean"] else 0


if __name__ == "__main__":
    sys.exit(main())
