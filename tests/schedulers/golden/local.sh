#!/bin/bash
# mso VERSION: mso.run.main-0003
set -u
fail() { echo "mso: $2" >&2; echo "$1" > .mso/exit_code; exit "$1"; }
cd /scratch/mso/20261125T000000Z-abcdef12/main-0003 || exit 97
printf '%(%s)T\n' -1 > .mso/started
module load gcc/12 || fail 98 'module load gcc/12 failed'
module load openmpi || fail 98 'module load openmpi failed'
export OMP_NUM_THREADS=1
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f %M -o .mso/peak_memory_kb timeout --kill-after=10 600 python heat.py --nu 0.1 --out out > .mso/stdout 2> .mso/stderr
elif command -v python3 >/dev/null 2>&1; then
  python3 -c 'import os,resource,subprocess,sys
p=subprocess.run(sys.argv[1:])
open(".mso/peak_memory_kb","w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(p.returncode if p.returncode>=0 else 128-p.returncode)' timeout --kill-after=10 600 python heat.py --nu 0.1 --out out > .mso/stdout 2> .mso/stderr
else
  timeout --kill-after=10 600 python heat.py --nu 0.1 --out out > .mso/stdout 2> .mso/stderr
fi
code=$?
printf '%(%s)T\n' -1 > .mso/ended
times > .mso/cpu_times
echo "$code" > .mso/exit_code
exit "$code"
