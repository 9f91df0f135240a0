# The interop session, run inside the QEMU guest as /mnt/host/run.sh (see guest/init).
#
# The host serves the virtual STM3210E-EVAL on its loopback; QEMU's 10.0.2.2 reaches it. Every
# step writes its output to /mnt/host/out/NAME.txt and one line "NAME RC TIME" to
# /mnt/host/out/steps; the tests on the host read them. Sourced settings (/mnt/host/env.sh):
# PORT (the server's port), the read-back ranges of the three alternates, GUEST_SERVE (1: also
# run `dfuse sim serve --attach` inside the guest).
set -u
H=/mnt/host
OUT=$H/out
mkdir -p "$OUT"
: >"$OUT/steps"
. "$H/env.sh"

step() {
  name=$1
  shift
  start=$(date +%s%N)
  "$@" >"$OUT/$name.txt" 2>&1
  rc=$?
  echo "$name $rc $((($(date +%s%N) - start) / 1000000))ms" >>"$OUT/steps"
  return $rc
}

# Wait until no port is in use (the server closed the last import), attach the board, and
# wait until dfu-util sees a device matching $2.
attach() {
  port=$1
  pattern=$2
  for _ in $(seq 100); do
    usbip port 2>/dev/null | grep -q "Port in Use" || break
    sleep 0.1
  done
  usbip --tcp-port "$port" attach -r 10.0.2.2 -b 1-1 || return 1
  for _ in $(seq 100); do
    dfu-util -l 2>/dev/null | grep -q "$pattern" && { dfu-util -l; return 0; }
    sleep 0.1
  done
  echo "no device matching $pattern appeared"
  return 1
}

# Wait until dfu-util sees (or, with "!", no longer sees) a device matching $1.
wait_for() {
  for _ in $(seq 300); do
    if [ "${2:-}" = gone ]; then
      dfu-util -l 2>/dev/null | grep -q "$1" || return 0
    else
      dfu-util -l 2>/dev/null | grep -q "$1" && { dfu-util -l; return 0; }
    fi
    sleep 0.1
  done
  echo "timed out waiting for $1 ${2:-}"
  return 1
}

DFU='Found DFU: \[0483:df11\]'
RUNTIME='Found Runtime: \[0483:df12\]'

# -- dfu-util: list, write each alternate of the 3-target .dfu, read back, leave, detach ------
step attach "attach" "$PORT" "$DFU"
step list dfu-util -l
for alt in 0 1 2; do
  step "download-$alt" dfu-util -a "$alt" -D "$H/board.dfu"
done
step upload-0 dfu-util -a 0 -s "$RANGE0" -U "$OUT/upload-0.bin"
step upload-1 dfu-util -a 1 -s "$RANGE1" -U "$OUT/upload-1.bin"
step upload-2 dfu-util -a 2 -s "$RANGE2" -U "$OUT/upload-2.bin"
step leave dfu-util -a 0 -s "$LEAVE"
step attach-runtime attach "$PORT" "$RUNTIME"
step detach dfu-util -e
step attach-dfu-again attach "$PORT" "$DFU"

# -- the project's own command line over libusb (source and dependencies shared read-only;
# cache=loose: they do not change while the guest runs, and it makes imports 2-3 times faster)
mkdir -p /mnt/src /mnt/site
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose src /mnt/src
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose site /mnt/site
export PYTHONPATH=/mnt/src:/mnt/site PYTHONDONTWRITEBYTECODE=1
dfuse() { python3 -m pydfuse "$@"; }
step dfuse-list dfuse list --json
step dfuse-flash dfuse flash "$H/board.dfu" --json
step dfuse-upload dfuse upload -a 1 --address "$SPI_ADDRESS" --length "$SPI_LENGTH" \
  "$OUT/dfuse-upload-1.bin"
usbip detach -p 00 >/dev/null 2>&1

# -- dfuse sim serve --attach inside the guest: it attaches, and re-attaches after a leave -----
if [ "${GUEST_SERVE:-0}" = 1 ]; then
  for _ in $(seq 100); do
    usbip port 2>/dev/null | grep -q "Port in Use" || break
    sleep 0.1
  done
  python3 -m pydfuse --sim stm3210e-eval --sim-state /tmp/guest-board.json sim serve --attach \
    --json >"$OUT/guest-serve.jsonl" 2>"$OUT/guest-serve.err" &
  server=$!
  step guest-serve-attached wait_for "$DFU"
  step guest-serve-flash dfuse flash "$H/app.dfu" --leave --json
  step guest-serve-reattached wait_for "$RUNTIME"
  kill -TERM "$server"
  wait "$server"
  echo "guest-serve-stopped $? -" >>"$OUT/steps"
fi
exit 0
