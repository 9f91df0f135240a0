# The interop session, run inside the QEMU guest as /mnt/host/run.sh (see guest/init).
#
# The host serves the virtual STM3210E-EVAL on its loopback; QEMU's 10.0.2.2 reaches it. Every
# step writes its stdout to /mnt/host/out/NAME.txt, its stderr to NAME.err and a line
# "NAME RC TIME" to
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
  "$@" >"$OUT/$name.txt" 2>"$OUT/$name.err"
  rc=$?
  echo "$name $rc $((($(date +%s%N) - start) / 1000000))ms" >>"$OUT/steps"
  return $rc
}

# Wait (at most 30 s) until no port is in use: the server closed the last import.
ports_free() {
  deadline=$(($(date +%s) + 30))
  while usbip port 2>/dev/null | grep -q "Port in Use"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# Wait (at most $2 s, default 30) until dfu-util lists a device matching $1, then show the list.
wait_for() {
  deadline=$(($(date +%s) + ${2:-30}))
  until dfu-util -l 2>/dev/null | grep -q "$1"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out waiting for $1"; return 1; }
    sleep 0.1
  done
  dfu-util -l
}

# Attach the served board once the previous import is gone, and wait for a device matching $2.
attach() {
  ports_free || { echo "the previous import did not go away"; return 1; }
  usbip --tcp-port "$1" attach -r 10.0.2.2 -b 1-1 || return 1
  wait_for "$2"
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
step dfuse-flash dfuse flash "$H/board.dfu" --full --json # --full: dfu-util wrote the same bytes
step dfuse-upload dfuse upload -a 1 --address "$SPI_ADDRESS" --length "$SPI_LENGTH" \
  "$OUT/dfuse-upload-1.bin"
usbip detach -p 00 >/dev/null 2>&1

# -- dfuse sim serve --attach inside the guest: it attaches, and re-attaches after a leave -----
if [ "${GUEST_SERVE:-0}" = 1 ]; then
  ports_free
  python3 -m pydfuse --sim stm3210e-eval --sim-state /tmp/guest-board.json sim serve --attach \
    --json >"$OUT/guest-serve.jsonl" 2>"$OUT/guest-serve.err" &
  server=$!
  step guest-serve-attached wait_for "$DFU" 120 # Python starts slowly under emulation
  step guest-serve-flash dfuse flash "$H/app.dfu" --leave --json
  step guest-serve-reattached wait_for "$RUNTIME"
  kill -TERM "$server"
  wait "$server"
  echo "guest-serve-stopped $? -" >>"$OUT/steps"
fi
exit 0
