"""Where a training and an evaluation run spend their wall time.

    .venv/bin/python download_and_convert_data.py --dataset_name=shapes \
        --dataset_dir=/tmp/shapes
    .venv/bin/python benchmarks/bench_phases.py --dataset_dir=/tmp/shapes \
        --model_name=cifarnet --batch_size=32 --steps=1000

Runs train_image_classifier.py, then eval_image_classifier.py, as a user
would (subprocesses, with `-X importtime`), and splits each run's wall time
by the timestamps of its log lines:

* start-up: process start to the first logged training step / to the
  session ready to evaluate (after the restore), split into
  - imports: the modules' import time (`-X importtime`, the top-level
    entries summed; TensorFlow is most of it),
  - graph: the rest until 'Starting Session.' / 'Starting evaluation'
    (flag parsing, graph construction, checks),
  - session: until 'Done running local_init_op.' (session creation,
    variable initialization or restore),
  - first steps (train): until the first logged step, step 50 (tf.data
    pipeline start, grappler, then 50 steps); add
    --extra='--log_every_n_steps=1' to end start-up at step 1 exactly, at
    some cost to the steady rate;
* steady state: steps/sec (images/sec) between the first and the last
  logged step; for eval, the time from the session ready to 'Input
  exhausted' (the first batch included);
* shutdown: the final checkpoint (last batch) to process exit.

--precision and the other train flags pass through (--extra='--xla').
"""
import argparse
import datetime
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_STAMP = r'^I\d{4} (\d\d:\d\d:\d\d\.\d+) '
# `-X importtime` lines of modules imported at the top level (not nested).
_TOP_IMPORT = r'^import time:\s+\d+ \|\s+(\d+) \| \S'


def _times(log, pattern):
  """Datetimes (today) of the log lines matching `pattern`."""
  today = datetime.date.today()
  return [datetime.datetime.combine(
      today, datetime.datetime.strptime(t, '%H:%M:%S.%f').time())
          for t in re.findall(_STAMP + '.*' + pattern, log, re.M)]


def _import_seconds(log):
  """Seconds spent importing, from the `-X importtime` lines of `log`."""
  return sum(int(us) for us in re.findall(_TOP_IMPORT, log, re.M)) / 1e6


def _seconds(later, earlier):
  return (later - earlier).total_seconds()


def _run(args):
  """(log, start datetime, end datetime) of `python args...`."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONUNBUFFERED='1')
  start = datetime.datetime.now()
  result = subprocess.run([sys.executable, '-X', 'importtime'] + args,
                          cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
  end = datetime.datetime.now()
  if result.returncode:
    raise RuntimeError(f'{args[0]} failed:\n{result.stderr[-3000:]}')
  return result.stderr + result.stdout, start, end


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--dataset_dir', required=True)
  parser.add_argument('--dataset_name', default='shapes')
  parser.add_argument('--model_name', default='cifarnet')
  parser.add_argument('--preprocessing_name', default='lenet')
  parser.add_argument('--batch_size', type=int, default=32)
  parser.add_argument('--steps', type=int, default=1000)
  parser.add_argument('--eval_split_name', default='validation',
                      help="the split evaluated ('test' for cifar10)")
  parser.add_argument('--precision', default='float32')
  parser.add_argument('--extra', default='', help='more train/eval flags')
  args = parser.parse_args()
  common = [f'--dataset_name={args.dataset_name}',
            f'--dataset_dir={args.dataset_dir}',
            f'--model_name={args.model_name}',
            f'--preprocessing_name={args.preprocessing_name}',
            f'--precision={args.precision}'] + shlex.split(args.extra)
  with tempfile.TemporaryDirectory() as work:
    train_dir = os.path.join(work, 'train')
    log, start, end = _run([
        'train_image_classifier.py', f'--train_dir={train_dir}',
        f'--batch_size={args.batch_size}',
        f'--max_number_of_steps={args.steps}', '--optimizer=sgd',
        '--learning_rate=0.05', '--learning_rate_decay_type=fixed',
        '--log_every_n_steps=50', '--save_interval_secs=600'] + common)
    steps = _times(log, r'global step \d+: loss')
    numbers = [int(n) for n in re.findall(r'global step (\d+): loss', log)]
    saved = _times(log, 'Saved checkpoint')
    rate = (numbers[-1] - numbers[0]) / _seconds(steps[-1], steps[0])
    imports = _import_seconds(log)
    session = _times(log, 'Starting Session')[0]
    ready = _times(log, 'Done running local_init_op')[0]
    print(f'train {args.model_name} batch {args.batch_size} '
          f'{args.precision}: start-up {_seconds(steps[0], start):.1f} s '
          f'(imports {imports:.1f}, graph '
          f'{_seconds(session, start) - imports:.1f}, session '
          f'{_seconds(ready, session):.1f}, first {numbers[0]} steps '
          f'{_seconds(steps[0], ready):.1f}), steady {rate:.1f} steps/s '
          f'({rate * args.batch_size:.0f} images/s), shutdown '
          f'{_seconds(end, saved[-1]):.2f} s, whole run '
          f'{_seconds(end, start):.1f} s', flush=True)
    log, start, end = _run([
        'eval_image_classifier.py', f'--checkpoint_path={train_dir}',
        f'--eval_dir={os.path.join(work, "eval")}', '--batch_size=100',
        f'--dataset_split_name={args.eval_split_name}',
        '--progress_bar=false'] + common)
    first = _times(log, 'Starting evaluation')[0]
    ready = _times(log, 'Done running local_init_op')[0]
    exhausted = _times(log, 'Input exhausted')[-1]
    imports = _import_seconds(log)
    print(f'eval  {args.model_name} {args.precision}: start-up '
          f'{_seconds(ready, start):.1f} s (imports {imports:.1f}, graph '
          f'{_seconds(first, start) - imports:.1f}, session '
          f'{_seconds(ready, first):.1f}), evaluating '
          f'{_seconds(exhausted, ready):.1f} s, shutdown '
          f'{_seconds(end, exhausted):.2f} s, whole run '
          f'{_seconds(end, start):.1f} s', flush=True)


if __name__ == '__main__':
  main()
