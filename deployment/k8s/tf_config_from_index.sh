#!/bin/sh
# Sets TF_CONFIG in a pod of a Kubernetes Indexed Job, then runs "$@".
#
# Kubernetes sets no TF_CONFIG, but an Indexed Job gives each pod its index
# in JOB_COMPLETION_INDEX and the hostname <job name>-<index>, which a
# headless Service named in the pod's `subdomain` makes
# <job name>-<index>.<service> to every other pod. So the cluster is
# NUM_WORKERS workers at those names, all on PORT, and this pod is worker
# JOB_COMPLETION_INDEX (worker 0 is the chief). With no parameter servers
# they train with all-reduce. For a pod of the Job "train" and the Service
# "train", index 1, NUM_WORKERS=2:
#
#   {"cluster": {"worker": ["train-0.train:2222", "train-1.train:2222"]},
#    "task": {"type": "worker", "index": 1}}
#
# Usage (the container's command; see train-indexed-job.yaml):
#   sh deployment/k8s/tf_config_from_index.sh python train_image_classifier.py ...
# Environment: JOB_COMPLETION_INDEX (Kubernetes sets it), JOB_NAME,
# SERVICE_NAME, NUM_WORKERS, PORT (default 2222).
set -eu

fail() {
  echo "tf_config_from_index.sh: error: $1" >&2
  exit 2
}

: "${JOB_COMPLETION_INDEX:?is not set: run this in a pod of a Job with completionMode: Indexed}"
: "${JOB_NAME:?is not set: give the Job name in the container env}"
: "${SERVICE_NAME:?is not set: give the headless Service name (the pod subdomain) in the container env}"
: "${NUM_WORKERS:?is not set: give the Job parallelism in the container env}"
PORT="${PORT:-2222}"
for number in "$JOB_COMPLETION_INDEX" "$NUM_WORKERS" "$PORT"; do
  case "$number" in
    ''|*[!0-9]*) fail "JOB_COMPLETION_INDEX, NUM_WORKERS and PORT must be numbers; got '$number'." ;;
  esac
done
[ "$JOB_COMPLETION_INDEX" -lt "$NUM_WORKERS" ] ||
  fail "JOB_COMPLETION_INDEX=$JOB_COMPLETION_INDEX is not below NUM_WORKERS=$NUM_WORKERS: make NUM_WORKERS the Job parallelism and completions."
[ "$#" -gt 0 ] || fail "give the command to run, e.g. python train_image_classifier.py ..."

hosts=""
i=0
while [ "$i" -lt "$NUM_WORKERS" ]; do
  hosts="$hosts${hosts:+, }\"$JOB_NAME-$i.$SERVICE_NAME:$PORT\""
  i=$((i + 1))
done
TF_CONFIG="{\"cluster\": {\"worker\": [$hosts]}, \"task\": {\"type\": \"worker\", \"index\": $JOB_COMPLETION_INDEX}}"
export TF_CONFIG
exec "$@"
