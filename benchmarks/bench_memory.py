"""Peak memory of a training run, by network, batch size, precision, clones.

    .venv/bin/python download_and_convert_data.py --dataset_name=shapes \
        --dataset_dir=/tmp/shapes
    .venv/bin/python benchmarks/bench_memory.py --dataset_dir=/tmp/shapes \
        --models=mobilenet_v1,resnet_v1_50 --batch_sizes=8,32 \
        --precisions=float32,bfloat16 --image_size=224

Runs train_image_classifier.py for --steps steps per configuration, as a
user would (a subprocess in a fresh train_dir), and prints the process's
peak resident memory (the kernel's maxrss of that child, from os.wait4),
so that the memory FAQ's advice (smaller --batch_size, fewer --num_clones,
--precision=bfloat16, fewer input threads) comes with numbers for this
machine. The shapes images are resized to --image_size by the network's
preprocessing, so the activations are those of full-size inputs.
"""
import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _measure(command):
  """Runs `command` under a one-child wrapper; returns (status, MB)."""
  wrapper = (
      'import os, subprocess, sys\n'
      'pid = os.fork()\n'
      'if pid == 0:\n'
      '  fd = os.open(os.devnull, os.O_WRONLY)\n'
      '  os.dup2(fd, 1); os.dup2(fd, 2)\n'
      '  os.execv(sys.argv[1], sys.argv[1:])\n'
      '_, status, usage = os.wait4(pid, 0)\n'
      'print(os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024)\n')
  out = subprocess.run([sys.executable, '-c', wrapper] + command, cwd=ROOT,
                       capture_output=True, text=True, check=True).stdout
  status, megabytes = out.split()
  return int(status), float(megabytes)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--dataset_dir', required=True)
  parser.add_argument('--dataset_name', default='shapes')
  parser.add_argument('--models', default='mobilenet_v1,resnet_v1_50')
  parser.add_argument('--batch_sizes', default='8,32')
  parser.add_argument('--precisions', default='float32,bfloat16')
  parser.add_argument('--num_clones', default='1')
  parser.add_argument('--image_size', type=int, default=224)
  parser.add_argument('--steps', type=int, default=3)
  args = parser.parse_args()
  print(f'{"model":<16} {"batch":>5} {"clones":>6} {"precision":<9} '
        f'{"peak MB":>8}')
  for model in args.models.split(','):
    for clones in args.num_clones.split(','):
      for batch in args.batch_sizes.split(','):
        for precision in args.precisions.split(','):
          with tempfile.TemporaryDirectory() as train_dir:
            status, megabytes = _measure([
                sys.executable, os.path.join(ROOT, 'train_image_classifier.py'),
                f'--train_dir={train_dir}',
                f'--dataset_name={args.dataset_name}',
                f'--dataset_dir={args.dataset_dir}',
                f'--model_name={model}', f'--batch_size={batch}',
                f'--num_clones={clones}', f'--precision={precision}',
                f'--train_image_size={args.image_size}',
                f'--max_number_of_steps={args.steps}',
                '--save_interval_secs=100000', '--save_summaries_secs=100000'])
          shown = f'{megabytes:8.0f}' if status == 0 else f'exit {status}'
          print(f'{model:<16} {batch:>5} {clones:>6} {precision:<9} {shown}',
                flush=True)


if __name__ == '__main__':
  main()
