"""Training speed on a loopback cluster: 1 worker vs 2 (ps or all-reduce).

    .venv/bin/python download_and_convert_data.py --dataset_name=shapes \
        --dataset_dir=/tmp/shapes
    .venv/bin/python benchmarks/bench_cluster.py --dataset_dir=/tmp/shapes

Starts real train_image_classifier.py processes on 127.0.0.1 (the harness
of tests/deployment) for each set-up: in-process training with no cluster,
1 ps + 1 worker, 1 ps + 2 workers asynchronous, 1 ps + 2 workers with
--sync_replicas --replicas_to_aggregate=2, and 2 workers without a ps
(synchronous all-reduce, deployment/all_reduce.py). The rate is read from
the chief's log lines ('global step N: ...', timestamped) after
--warmup_steps: global steps/sec (and its inverse, seconds per global step)
times the images one global step holds (batch size, or batch size x 2 in
the synchronous set-ups). --setups picks some of them by index (0-4).

Caveat: all processes share this machine's cores. On 2 cores, two workers
do not train faster than one; the figures show the cost of the parameter
server round trips, not a speed-up. Real scaling needs a machine per worker.
"""
import argparse
import datetime
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests import cli_harness as h  # pylint: disable=wrong-import-position
from tests.deployment import cluster_harness as ch  # pylint: disable=wrong-import-position

_LINE = re.compile(r'^I\d{4} (\d\d:\d\d:\d\d\.\d+) .*global step (\d+): loss',
                   re.M)


def steps_per_sec(log, warmup_steps):
  """Global steps/sec between the first logged step past the warm-up and
  the last one, from the absl timestamps of the log lines."""
  points = [(datetime.datetime.strptime(t, '%H:%M:%S.%f'), int(s))
            for t, s in _LINE.findall(log) if int(s) >= warmup_steps]
  if len(points) < 2:
    raise RuntimeError('too few logged steps; raise --steps')
  (t0, s0), (t1, s1) = points[0], points[-1]
  return (s1 - s0) / (t1 - t0).total_seconds()


def run(name, work, train_args, workers, extra=(), num_ps=1):
  """Runs one set-up to completion; returns the chief's log."""
  directory = pathlib.Path(work) / name
  directory.mkdir()
  args = train_args + [f'--train_dir={directory / "train"}'] + list(extra)
  if workers == 0:
    result = subprocess.run(
        [h.PYTHON, h.script_path(ch.SCRIPT)] + args, cwd=h.ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'), capture_output=True,
        text=True, check=True)
    return result.stderr
  cluster = ch.LocalCluster(directory, args, num_ps=num_ps,
                            num_workers=workers)
  try:
    cluster.start_all()
    statuses = cluster.wait_all(timeout=1800)
    if set(statuses.values()) != {0}:
      raise RuntimeError(f'{name}: {statuses}\n{cluster.log("worker0")}')
    return cluster.log('worker0')
  finally:
    cluster.close()


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--dataset_dir', required=True)
  parser.add_argument('--model_name', default='cifarnet')
  parser.add_argument('--batch_size', type=int, default=32)
  parser.add_argument('--steps', type=int, default=400)
  parser.add_argument('--warmup_steps', type=int, default=50)
  parser.add_argument('--setups', default='0,1,2,3,4',
                      help='comma-separated indices of the set-ups to run')
  args = parser.parse_args()
  train_args = h.cli_args(dict(
      dataset_name='shapes', dataset_split_name='train',
      dataset_dir=args.dataset_dir, model_name=args.model_name,
      preprocessing_name='lenet', batch_size=args.batch_size, optimizer='sgd',
      learning_rate=0.05, learning_rate_decay_type='fixed',
      log_every_n_steps=10, save_summaries_secs=0, save_interval_secs=0,
      max_number_of_steps=args.steps))
  # (name, workers, extra flags, batches per global step, ps tasks)
  setups = [
      ('in-process, no cluster', 0, (), 1, 0),
      ('1 ps + 1 worker', 1, (), 1, 1),
      ('1 ps + 2 workers, async', 2, (), 1, 1),
      ('1 ps + 2 workers, sync (aggregate 2)', 2,
       ('--sync_replicas', '--replicas_to_aggregate=2'), 2, 1),
      ('2 workers, all-reduce', 2, (), 2, 0),
  ]
  chosen = [int(i) for i in args.setups.split(',')]
  print(f'{args.model_name}, batch {args.batch_size}, {args.steps} global '
        f'steps, {os.cpu_count()} CPUs')
  with tempfile.TemporaryDirectory() as work:
    for i in chosen:
      name, workers, extra, batches, num_ps = setups[i]
      log = run(f'setup{i}', work, train_args, workers, extra, num_ps)
      rate = steps_per_sec(log, args.warmup_steps)
      images = rate * args.batch_size * batches
      print(f'{name:40s} {rate:7.1f} global steps/s {1 / rate:7.3f} s/step '
            f'{images:8.1f} images/s', flush=True)


if __name__ == '__main__':
  main()
