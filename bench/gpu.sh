#!/usr/bin/env bash
# The GPU check, in one go (<= 8 minutes on a CUDA machine): GPU-marked tests, probe overhead at
# every step (expect 0 syncs, >= 0.97x), app vs headless throughput, and ResNet-20 on
# CIFAR-10-shaped data in images/s with/without channels_last, autocast and compile. Prints one
# table at the end; each part's raw JSON goes to $OUT_DIR (default: a temp folder).
# Usage: bash bench/gpu.sh            (from the repository root)
set -u
cd "$(dirname "$0")/.."
OUT_DIR=${OUT_DIR:-$(mktemp -d)}
PY=${PYTHON:-python}
if ! $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "no CUDA device: bench/gpu.sh measures nothing on this machine" >&2
  exit 2
fi
$PY -c "import torch; print('device:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"

# 1. GPU-marked tests (a test that needs CUDA carries @pytest.mark.gpu or 'cuda' in its name).
timeout 180 $PY -m pytest -q -x -m gpu tests > "$OUT_DIR/tests.txt" 2>&1
rc=$?
if [ $rc -eq 5 ]; then  # no test carries the marker: run the tests named after cuda
  timeout 180 $PY -m pytest -q -x -k "cuda or gpu" tests > "$OUT_DIR/tests.txt" 2>&1
  rc=$?
fi
tests_line=$(tail -n 1 "$OUT_DIR/tests.txt")

# 2. Probe overhead at every step and at the default cadence, on the GPU (0 syncs expected).
timeout 150 $PY bench/overhead.py --device cuda --rounds 5 --seconds 0.5 > "$OUT_DIR/overhead.json" 2> "$OUT_DIR/overhead.log"

# 3. App vs headless (a real page in Chromium when there is one, else the in-process page).
mode=browser; command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || mode=inproc
timeout 150 $PY bench/app_throughput.py --device cuda --mode "$mode" --steps 3000 --rounds 1 \
  > "$OUT_DIR/app.json" 2> "$OUT_DIR/app.log"

# 4. ResNet-20 on CIFAR-10-shaped data.
timeout 150 $PY bench/resnet_speed.py --device cuda --steps 50 --rounds 3 > "$OUT_DIR/resnet.json" 2> "$OUT_DIR/resnet.log"

$PY - "$OUT_DIR" "$rc" "$tests_line" <<'PYEOF'
import json, sys
from pathlib import Path
out, rc, tests = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
def load(name):
    try:
        return json.loads((out / name).read_text())
    except Exception as e:
        return {"error": f"{name}: {e}"}
rows = [("GPU tests", f"exit {rc}: {tests}")]
ov = load("overhead.json")
for r in ov.get("results", []):
    rows.append((f"probe {r['model']} every {r['record_every']}",
                 f"lab/plain {r['lab_vs_plain_wall']}x (wall), syncs/step {r['lab_syncs_per_step']}"))
if "error" in ov:
    rows.append(("probe overhead", ov["error"]))
app = load("app.json")
rows.append(("app vs headless", str(app.get("throughput_ratio", app))[:100] + "x (median)"))
rn = load("resnet.json")
for r in rn.get("rows", []):
    rows.append((f"ResNet-20 {r['variant']}", f"{r['images_per_s']} img/s ({r['vs_fp32_eager']}x)"))
if "error" in rn:
    rows.append(("ResNet-20", rn["error"]))
w = max(len(a) for a, _ in rows)
print(f"\n{'check':<{w}}  result\n{'-' * w}  {'-' * 40}")
for a, b in rows:
    print(f"{a:<{w}}  {b}")
print(f"\nraw output: {out}")
PYEOF
