#!/usr/bin/env bash
# Container smoke test (npm run container:smoke; .ci/run runs it): builds docker/Dockerfile and proves
# the image end to end with a real container and with compose.
#   Docker when a Docker engine answers, podman otherwise (installed with apt-get when missing; root).
#   Base image: used when present, pulled when possible, else made locally (docker/make-base-image.sh).
#   Build -> run on a named volume -> health check -> upload XOR, train, predict -> non-root ->
#   SIGTERM stop within the grace period -> a new container on the same volume still has the model ->
#   compose up (podman-compose / docker compose) of docker/compose.yaml: postgres (pulled, or made
#   locally by docker/make-postgres-image.sh), one api node and two worker replicas -> /v1/nodes lists
#   all three -> upload, two jobs trained by workers (seen running on a worker, never on the api),
#   predict through the api -> compose down -v.
# Everything it creates (containers, pods, networks, volumes, images, temp files) is removed on exit,
# failure included. It skips (exit 0, saying why) when it cannot run; when it runs, any failure fails.
# Environment: SMOKE_PORT (3917), SMOKE_COMPOSE_PORT (3918), SMOKE_ENGINE (docker|podman),
#   SMOKE_KEEP_IMAGES=1 keeps the built, base and postgres images (faster reruns while working on them).
# Each phase's time is printed ("phase ... took Ns").
set -Eeuo pipefail
cd "$(dirname "$0")/.."

PORT=${SMOKE_PORT:-3917}
COMPOSE_PORT=${SMOKE_COMPOSE_PORT:-3918}
GRACE=15                                   # = compose.yaml's stop_grace_period; the service needs ~10 s at most
RUN_ID=smoke-$$
IMG=localhost/mlp-service:$RUN_ID
CTR=mlp-$RUN_ID
VOL=mlp-data-$RUN_ID
PROJ=mlpsmoke$$                            # compose project: containers, network and volume carry it
WORKERS=2                                  # worker replicas in the compose phase (compose.yaml's default)
COMPOSE_FILE=docker/compose.yaml

log() { printf '[container-smoke %4ss] %s\n' "$SECONDS" "$*"; }
phase_t0=0
phase() { log "phase $1 took $((SECONDS - phase_t0))s"; phase_t0=$SECONDS; }
skip() { echo "container-smoke: SKIPPED: $*"; exit 0; }
fail() { echo "container-smoke: FAILED: $*" >&2; exit 1; }

# bounded SECONDS CMD...: CMD under a timeout, in the background, waited for. bash runs a trap only
# once the foreground command returns; `wait` returns at the signal, so a CI timeout (SIGTERM) gets to
# the cleanup at once, and on_signal stops CMD (timeout makes it a process group of its own).
# The script's own output, kept on fds 3 and 4: a signal can arrive while a redirected command runs
# (the build into build.log), and its trap and the cleanup must still be seen.
exec 3>&1 4>&2
child=""
bounded() {
  local t=$1 rc=0
  shift
  timeout "$t" "$@" 3>&- 4>&- &             # fds 3/4 are ours: not for conmon and the like
  child=$!
  wait "$child" || rc=$?
  child=""
  return "$rc"
}
on_signal() {
  exec 1>&3 2>&4
  set +e
  trap - ERR
  trap '' INT TERM HUP
  echo "container-smoke: interrupted; stopping what runs and cleaning up" >&2
  rm -f "${work_apt:-}"
  if [ -n "$child" ]; then
    kill -TERM -- "-$child" 2>/dev/null
    for _ in $(seq 20); do kill -0 "$child" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$child" 2>/dev/null
  fi
  exit 130
}
trap on_signal INT TERM HUP

# ---------------------------------------------------------------- the engine
engine=${SMOKE_ENGINE:-}
if [ -z "$engine" ]; then
  if command -v docker >/dev/null 2>&1 && ! docker --version 2>/dev/null | grep -qi podman \
     && timeout 20 docker info >/dev/null 2>&1; then
    engine=docker
  else
    engine=podman
  fi
fi

if [ "$engine" = podman ]; then
  [ "$(id -u)" = 0 ] || skip "not root: no Docker engine answers, and podman here runs as root (rootful, as CI does) after apt-get installs it"
  need=()
  for tool in podman runc debootstrap podman-compose curl jq; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
  done
  if [ ${#need[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || skip "no apt-get to install ${need[*]}"
    log "installing ${need[*]} (apt-get)"
    work_apt=$(mktemp /tmp/container-smoke-apt.XXXXXX)
    ok=0
    # With recommends: podman's bring netavark/iptables (bridge networks), debootstrap's the keyring.
    for _ in 1 2 3 4; do                      # another apt-get may hold the lock for a while
      if bounded 180 apt-get -o DPkg::Lock::Timeout=120 update -qq >"$work_apt" 2>&1 &&
         DEBIAN_FRONTEND=noninteractive bounded 600 apt-get -o DPkg::Lock::Timeout=120 install -y -qq \
           "${need[@]}" </dev/null >>"$work_apt" 2>&1; then
        ok=1; break
      fi
      sleep 10
    done
    [ "$ok" = 1 ] || { tail -n 5 "$work_apt"; rm -f "$work_apt"; skip "apt-get could not install ${need[*]}"; }
    rm -f "$work_apt"
  fi
  # runc + cgroupfs + no default ulimits: what works inside these machines (see the file).
  export CONTAINERS_CONF=$PWD/docker/containers.conf
else
  for tool in curl jq; do command -v "$tool" >/dev/null 2>&1 || skip "needs $tool"; done
fi
E=$engine
log "engine: $E ($($E --version 2>/dev/null | head -n 1))"

# ---------------------------------------------------------------- cleanup, whatever happens
work=$(mktemp -d /tmp/container-smoke.XXXXXX)
# Dangling images (build stages) present before, so that only ours are removed afterwards.
dangling_before=$work/dangling-before
$E images -q --no-trunc --filter dangling=true 2>/dev/null | sort -u >"$dangling_before" \
  || fail "$E images does not work"
# podman build's working containers (an interrupted build leaves them): those present before stay.
external_before=$work/external-before
if [ "$E" = podman ]; then podman ps -a --external -q --no-trunc 2>/dev/null | sort -u >"$external_before"; fi
base=node:20-bookworm-slim
[ "$E" = podman ] && base=docker.io/library/node:20-bookworm-slim
base_added=0
pg_img=docker.io/library/postgres:15-bookworm   # compose.yaml's default; a stand-in is named for this run
[ "$E" = docker ] && pg_img=postgres:15-bookworm
pg_added=0
built=0
compose_up=0

# compose SECONDS ARGS...: podman-compose or docker compose on docker/compose.yaml, under a timeout.
compose() {
  local t=$1; shift
  if [ "$E" = podman ]; then bounded "$t" podman-compose -p "$PROJ" -f "$COMPOSE_FILE" "$@"
  else bounded "$t" docker compose -p "$PROJ" -f "$COMPOSE_FILE" "$@"; fi
}

cleanup() {
  local rc=$?
  exec 1>&3 2>&4
  set +e
  trap - ERR
  trap '' INT TERM HUP
  if [ "$rc" != 0 ]; then
    log "diagnostics:"
    $E ps -a --filter "name=$CTR" --filter "name=$PROJ" 2>/dev/null
    for c in "$CTR" $($E ps -aq --filter "label=com.docker.compose.project=$PROJ" 2>/dev/null); do
      $E inspect "$c" >/dev/null 2>&1 || continue
      echo "--- logs of $c (last 40 lines)"; timeout 20 $E logs --tail 40 "$c" 2>&1
    done
    [ "$built" = 0 ] && [ -s "$work/build.log" ] && { echo "--- build log (last 40 lines)"; tail -n 40 "$work/build.log"; }
    [ -s "$work/run.err" ] && { echo "--- $E run stderr"; cat "$work/run.err"; }
  fi
  log "cleaning up"
  if [ "$compose_up" = 1 ]; then
    compose 120 down -v -t 5 >/dev/null 2>&1
  fi
  if [ "$E" = podman ]; then
    timeout 60 podman rm -f -t 0 "$CTR" >/dev/null 2>&1
    for c in $(podman ps -aq --filter "label=com.docker.compose.project=$PROJ" 2>/dev/null); do
      timeout 60 podman rm -f -v -t 0 "$c" >/dev/null 2>&1
    done
    podman pod exists "pod_$PROJ" 2>/dev/null && timeout 60 podman pod rm -f "pod_$PROJ" >/dev/null 2>&1
    for c in $(podman ps -a --external -q --no-trunc 2>/dev/null | sort -u | comm -13 "$external_before" -); do
      timeout 60 podman rm -f "$c" >/dev/null 2>&1 ||
        { command -v buildah >/dev/null && timeout 60 buildah rm "$c" >/dev/null 2>&1; }
    done
  else
    timeout 60 docker rm -f "$CTR" >/dev/null 2>&1
    for c in $(docker ps -aq --filter "label=com.docker.compose.project=$PROJ" 2>/dev/null); do
      timeout 60 docker rm -f -v "$c" >/dev/null 2>&1
    done
  fi
  for v in "$VOL" "${PROJ}_mlp-data" "${PROJ}_pg-data"; do
    $E volume inspect "$v" >/dev/null 2>&1 && timeout 60 $E volume rm -f "$v" >/dev/null 2>&1
  done
  $E network inspect "${PROJ}_default" >/dev/null 2>&1 && timeout 60 $E network rm "${PROJ}_default" >/dev/null 2>&1
  if [ "${SMOKE_KEEP_IMAGES:-0}" != 1 ]; then
    # Ours, the base if we pulled or made it, and the build stages it left (new dangling images).
    $E image inspect "$IMG" >/dev/null 2>&1 && timeout 60 $E rmi -f "$IMG" >/dev/null 2>&1
    [ "$pg_added" = 1 ] && timeout 60 $E rmi -f "$pg_img" >/dev/null 2>&1
    [ "$base_added" = 1 ] && timeout 60 $E rmi -f "$base" >/dev/null 2>&1
    for _ in 1 2 3; do                      # a layer goes only once the layers built on it have
      for id in $($E images -q --no-trunc --filter dangling=true 2>/dev/null | sort -u | comm -13 "$dangling_before" -); do
        timeout 60 $E rmi -f "$id" >/dev/null 2>&1
      done
    done
  fi
  # An interrupted debootstrap (under $work) can leave /proc and /sys mounted in its new root.
  for m in $(grep -o " $work/[^ ]*" /proc/mounts 2>/dev/null | sort -r); do umount -l "$m"; done
  rm -rf --one-file-system "$work"
  local left
  left=$( { $E ps -aq --filter "name=$CTR"; $E ps -aq --filter "label=com.docker.compose.project=$PROJ";
            $E volume ls -q | grep -e "$RUN_ID" -e "$PROJ"; $E network ls -q --filter "name=$PROJ";
            [ "$pg_added" = 1 ] && [ "${SMOKE_KEEP_IMAGES:-0}" != 1 ] && $E image inspect "$pg_img" >/dev/null 2>&1 && echo "$pg_img"; } 2>/dev/null | sort -u | tr '\n' ' ')
  [ -z "${left// /}" ] || { echo "container-smoke: left behind: $left" >&2; [ "$rc" != 0 ] || rc=1; }
  if [ "$rc" = 0 ]; then log "PASSED in ${SECONDS}s"; else echo "container-smoke: FAILED (exit $rc) after ${SECONDS}s" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "container-smoke: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR

# ---------------------------------------------------------------- helpers
# api METHOD PORT PATH [JSON body | @csvfile]: prints the body, fails unless the status is 2xx.
api() {
  local method=$1 port=$2 path=$3 body=${4:-} code
  local args=(-sS -m 30 -o "$work/body" -w '%{http_code}' -X "$method")
  if [[ "$body" == @* ]]; then args+=(-H 'content-type: text/csv' --data-binary "$body")
  elif [ -n "$body" ]; then args+=(-H 'content-type: application/json' -d "$body"); fi
  code=$(curl "${args[@]}" "http://127.0.0.1:$port$path") || code=000
  [[ "$code" == 2?? ]] || fail "$method $path -> HTTP $code: $(head -c 500 "$work/body" 2>/dev/null)"
  cat "$work/body"
}

# wait_healthy CONTAINER PORT: the image's HEALTHCHECK passes and /health answers from the host.
wait_healthy() {
  local c=$1 port=$2 deadline=$((SECONDS + 120)) status=""
  while :; do
    [ "$($E inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] || fail "$c is not running"
    if [ "$E" = podman ]; then
      # No systemd here to run the check on a timer: run the image's HEALTHCHECK command ourselves.
      timeout 30 podman healthcheck run "$c" >/dev/null 2>&1 && status=healthy
    else
      status=$($E inspect -f '{{.State.Health.Status}}' "$c" 2>/dev/null || true)
    fi
    [ "$status" = healthy ] && curl -sf -m 5 "http://127.0.0.1:$port/health" >/dev/null && break
    [ "$SECONDS" -lt "$deadline" ] || fail "$c not healthy after 120 s (last status: ${status:-none})"
    sleep 2
  done
}

# train PORT: upload XOR, train 50 epochs, predict [0,1]; sets MODEL_ID.
train() {
  local port=$1 dataset job deadline=$((SECONDS + 180)) status
  dataset=$(api POST "$port" '/v1/datasets?name=xor&target=label' "@$work/xor.csv" | jq -r .id)
  job=$(api POST "$port" /v1/jobs "{\"datasetId\": \"$dataset\", \"epochs\": 50}" | jq -r .id)
  while :; do
    status=$(api GET "$port" "/v1/jobs/$job" | jq -r .status)
    case "$status" in
      succeeded) break ;;
      failed|cancelled) fail "job $job $status: $(cat "$work/body")" ;;
    esac
    [ "$SECONDS" -lt "$deadline" ] || fail "job $job still $status after 180 s"
    sleep 1
  done
  MODEL_ID=$(jq -r .modelId "$work/body")
  local prediction
  prediction=$(api POST "$port" "/v1/models/$MODEL_ID/predict" '{"instances": [[0, 1]]}')
  [ "$(jq '.predictions | length' <<<"$prediction")" = 1 ] || fail "prediction: $prediction"
  log "trained XOR (job $job, model $MODEL_ID); predict [0,1] -> label $(jq -r '.predictions[0].label' <<<"$prediction")"
}

phase_t0=$SECONDS
printf 'a,b,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n' >"$work/xor.csv"
for p in "$PORT" "$COMPOSE_PORT"; do
  if (: <>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    fail "something already listens on 127.0.0.1:$p: set SMOKE_PORT / SMOKE_COMPOSE_PORT"
  fi
done

# ---------------------------------------------------------------- the base image
if $E image inspect "$base" >/dev/null 2>&1; then
  log "base image $base: present"
elif bounded 300 $E pull "$base" >/dev/null 2>&1; then
  base_added=1
  log "base image $base: pulled"
else
  log "base image $base: cannot be pulled here; making a local stand-in (docker/make-base-image.sh)"
  [ "$(id -u)" = 0 ] || skip "the base image cannot be pulled and making one needs root"
  command -v debootstrap >/dev/null 2>&1 || skip "the base image cannot be pulled and debootstrap is missing"
  base_added=1
  TMPDIR=$work bounded 900 bash docker/make-base-image.sh "$E" "$base"
fi
log "base image size: $(( $($E image inspect -f '{{.Size}}' "$base") / 1000000 )) MB"
phase "base image"

# ---------------------------------------------------------------- build
build=(build -f docker/Dockerfile -t "$IMG")
if [ "$E" = podman ]; then
  # docker format keeps the HEALTHCHECK (OCI images drop it); host network: no bridge needed to reach npm.
  build+=(--pull=never --format docker --network=host --ignorefile docker/Dockerfile.dockerignore)
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    ca=$(readlink -f "$NODE_EXTRA_CA_CERTS")   # a TLS-inspecting proxy: let npm in the build trust its CA
    build+=(-v "$(dirname "$ca"):$(dirname "$ca"):ro" --build-arg "NODE_EXTRA_CA_CERTS=$ca")
  fi
elif [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  log "note: docker build cannot mount NODE_EXTRA_CA_CERTS; npm in the build trusts only the public CAs"
fi
log "building $IMG (log: build.log; takes a few minutes on 2 cores)"
t0=$SECONDS
bounded 900 $E "${build[@]}" . >"$work/build.log" 2>&1 || fail "build failed (exit $?)"
built=1
log "built in $((SECONDS - t0))s; image size: $(( $($E image inspect -f '{{.Size}}' "$IMG") / 1000000 )) MB"
user=$($E image inspect -f '{{.Config.User}}' "$IMG")
[ "$user" = node ] || fail "image user is '$user', not node"
phase "build"

# ---------------------------------------------------------------- run, train, stop, restart
bounded 60 $E volume create "$VOL" >/dev/null
run=(run -d --name "$CTR" -p "127.0.0.1:$PORT:3000" -v "$VOL:/data" "$IMG")
# podman without systemd says "unable to get systemd connection to add healthchecks": harmless, the
# check is run by wait_healthy. Kept for the diagnostics only.
bounded 60 $E "${run[@]}" >/dev/null 2>>"$work/run.err"
wait_healthy "$CTR" "$PORT"
log "container $CTR healthy on 127.0.0.1:$PORT"

uid=$(timeout 30 $E exec "$CTR" id -u)
[ "$uid" != 0 ] || fail "the service runs as root"
log "runs as: $(timeout 30 $E exec "$CTR" id) (data dir owned by $(timeout 30 $E exec "$CTR" stat -c %U /data))"

train "$PORT"
model=$MODEL_ID

t0=$(date +%s%N)
bounded $((GRACE + 30)) $E stop -t "$GRACE" "$CTR" >/dev/null 2>>"$work/run.err"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
code=$($E inspect -f '{{.State.ExitCode}}' "$CTR")
[ "$code" = 0 ] || fail "stopped with exit code $code after ${ms} ms (SIGTERM not handled? 137 = killed)"
[ "$ms" -lt $((GRACE * 1000)) ] || fail "stop took ${ms} ms, beyond the ${GRACE} s grace period"
timeout 30 $E logs "$CTR" 2>&1 | grep -q 'shutting down' || fail "no 'shutting down' in the logs: SIGTERM not seen"
log "SIGTERM: stopped in ${ms} ms, exit code 0"

bounded 60 $E rm "$CTR" >/dev/null 2>>"$work/run.err"
bounded 60 $E "${run[@]}" >/dev/null 2>>"$work/run.err"
wait_healthy "$CTR" "$PORT"
api GET "$PORT" "/v1/models/$model" >/dev/null
api POST "$PORT" "/v1/models/$model/predict" '{"instances": [[1, 1]]}' >/dev/null
log "new container on volume $VOL: model $model still there and predicting"
bounded $((GRACE + 30)) $E stop -t "$GRACE" "$CTR" >/dev/null 2>>"$work/run.err"
bounded 60 $E rm "$CTR" >/dev/null 2>>"$work/run.err"

phase "run-train-stop-restart (one container, SQLite)"

# ---------------------------------------------------------------- compose: postgres, api, workers
if [ "$E" = docker ] && ! docker compose version >/dev/null 2>&1; then
  log "compose: SKIPPED (docker compose plugin not installed)"
  exit 0
fi

# The postgres image: present, pulled, or (no registry here) a stand-in from Debian's postgresql-15.
standin=localhost/mlp-postgres:15
if $E image inspect "$pg_img" >/dev/null 2>&1; then
  log "postgres image $pg_img: present"
elif $E image inspect "$standin" >/dev/null 2>&1; then
  pg_img=$standin
  log "postgres image: stand-in $standin present (kept by SMOKE_KEEP_IMAGES=1)"
elif bounded 300 $E pull "$pg_img" >/dev/null 2>&1; then
  pg_added=1
  log "postgres image $pg_img: pulled"
else
  log "postgres image $pg_img: cannot be pulled here; making $standin (docker/make-postgres-image.sh)"
  pg_img=$standin
  pg_added=1
  bounded 600 bash docker/make-postgres-image.sh "$E" "$pg_img" "$base" >"$work/postgres-build.log" 2>&1 ||
    { tail -n 40 "$work/postgres-build.log"; fail "making the postgres image failed"; }
  log "postgres image size: $(( $($E image inspect -f '{{.Size}}' "$pg_img") / 1000000 )) MB"
fi
phase "postgres image"

# Use the images just built or found: no second build, no pull.
export MLP_IMAGE=$IMG MLP_PORT=$COMPOSE_PORT MLP_POSTGRES_IMAGE=$pg_img MLP_WORKERS=$WORKERS
log "compose up (project $PROJ: postgres, api on 127.0.0.1:$COMPOSE_PORT, $WORKERS workers)"
compose_up=1
compose 300 up -d --no-build >"$work/compose.log" 2>&1 || { cat "$work/compose.log"; fail "compose up"; }

# ctr SERVICE: the ids of a service's containers.
ctr() { $E ps -aq --filter "label=com.docker.compose.project=$PROJ" --filter "label=com.docker.compose.service=$1"; }
pg_ctr=$(ctr postgres)
api_ctr=$(ctr api)
[ -n "$pg_ctr" ] && [ -n "$api_ctr" ] || { cat "$work/compose.log"; fail "compose up did not start postgres and api"; }
[ "$(ctr worker | wc -l)" = "$WORKERS" ] || { cat "$work/compose.log"; fail "compose up did not start $WORKERS workers"; }

# postgres healthy (podman: no systemd timer, so the healthcheck is run here), then api and workers
# up: with podman-compose they start at once, exit 1 while postgres is not ready, and are restarted.
deadline=$((SECONDS + 120))
if [ "$E" = podman ]; then
  until timeout 30 podman healthcheck run "$pg_ctr" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "postgres not healthy after 120 s"
    sleep 1
  done
else
  until [ "$(docker inspect -f '{{.State.Health.Status}}' "$pg_ctr")" = healthy ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "postgres not healthy after 120 s"
    sleep 1
  done
fi
log "postgres healthy"
until curl -sf -m 5 "http://127.0.0.1:$COMPOSE_PORT/health" >/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "api /health not answering after 120 s"
  sleep 1
done
until nodes=$(api GET "$COMPOSE_PORT" /v1/nodes) &&
      [ "$(jq '[.items[] | select(.role == "worker")] | length' <<<"$nodes")" = "$WORKERS" ] &&
      [ "$(jq '[.items[] | select(.role == "api" and .id == "api")] | length' <<<"$nodes")" = 1 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "GET /v1/nodes never listed api and $WORKERS workers: $nodes"
  sleep 1
done
workers=$(jq -r '[.items[] | select(.role == "worker") | .id] | join(" ")' <<<"$nodes")
restarts=""
for c in $api_ctr $(ctr worker); do restarts+=" $($E inspect -f '{{.Name}}={{.RestartCount}}' "$c")"; done
log "nodes: api + workers $workers (restarts while postgres started:$restarts)"
phase "compose up to all nodes listed"

# A dataset big enough that a job trains for some seconds on 2 shared cores: 6000 rows, 4 features.
awk 'BEGIN { srand(7); print "a,b,c,d,label";
             for (i = 0; i < 6000; i++) { a = rand(); b = rand(); c = rand(); d = rand();
               printf "%.4f,%.4f,%.4f,%.4f,%d\n", a, b, c, d, (a * b + c > d + 0.3) } }' >"$work/rows.csv"
dataset=$(api POST "$COMPOSE_PORT" '/v1/datasets?name=rows&target=label' "@$work/rows.csv" | jq -r .id)
# Each long enough (~4 s and ~2 s here) to be seen running: a job's `node` is set only while it runs.
job_a=$(api POST "$COMPOSE_PORT" /v1/jobs "{\"datasetId\": \"$dataset\", \"epochs\": 100, \"batchSize\": 8}" | jq -r .id)
job_b=$(api POST "$COMPOSE_PORT" /v1/jobs "{\"datasetId\": \"$dataset\", \"epochs\": 50, \"batchSize\": 8}" | jq -r .id)
log "submitted jobs $job_a (100 epochs) and $job_b (50 epochs) on dataset $dataset"
# Follow both: the node each runs on while running, until both succeed.
declare -A ran_on=() done_=()
deadline=$((SECONDS + 240))
while [ "${#done_[@]}" -lt 2 ]; do
  for j in "$job_a" "$job_b"; do
    [ -n "${done_[$j]:-}" ] && continue
    view=$(api GET "$COMPOSE_PORT" "/v1/jobs/$j")
    status=$(jq -r .status <<<"$view")
    node=$(jq -r '.node // empty' <<<"$view")
    case "$status" in
      running) if [ -n "$node" ] && [ -z "${ran_on[$j]:-}" ]; then ran_on[$j]=$node; log "job $j running on $node"; fi ;;
      succeeded) done_[$j]=1; model=$(jq -r .modelId <<<"$view"); log "job $j succeeded" ;;
      failed|cancelled) fail "job $j $status: $view" ;;
    esac
  done
  [ "$SECONDS" -lt "$deadline" ] || fail "jobs not done after 240 s: $job_a ${ran_on[$job_a]:-?}, $job_b ${ran_on[$job_b]:-?}"
  sleep 0.3
done
for j in "$job_a" "$job_b"; do
  n=${ran_on[$j]:-}
  [ -n "$n" ] || fail "job $j was never seen running on a node (too quick to see? it needs a longer job)"
  [ "$n" != api ] && [[ " $workers " == *" $n "* ]] || fail "job $j ran on '$n', not on a worker ($workers)"
done
prediction=$(api POST "$COMPOSE_PORT" "/v1/models/$model/predict" '{"instances": [[0.9, 0.9, 0.5, 0.1]]}')
[ "$(jq '.predictions | length' <<<"$prediction")" = 1 ] || fail "prediction: $prediction"
log "both jobs trained on workers (${ran_on[$job_a]}, ${ran_on[$job_b]}); predict through the api -> label $(jq -r '.predictions[0].label' <<<"$prediction")"
phase "compose: two jobs trained by workers"

compose 120 down -v -t "$GRACE" >>"$work/compose.log" 2>&1 || { cat "$work/compose.log"; fail "compose down"; }
compose_up=0
[ -z "$($E ps -aq --filter "label=com.docker.compose.project=$PROJ")" ] || fail "compose down left containers"
! $E volume inspect "${PROJ}_pg-data" >/dev/null 2>&1 || fail "compose down -v left the postgres volume"
phase "compose down"
