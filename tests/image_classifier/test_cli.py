"""Tests for image_classifier/cli.py's run: what a script's end looks like.

A tiny script is run in a subprocess (cli.run calls absl's app.run, which
parses sys.argv and exits) with a main that fails, or waits for a signal.
"""
import errno
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from image_classifier import cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PREFIX = 'tiny.py: error: '


def _script(tmp_path, body, run_arguments):
  path = tmp_path / 'tiny.py'
  path.write_text(textwrap.dedent('''
      import errno, sys, time
      from image_classifier import cli

      def main(argv):
      ''') + textwrap.indent(textwrap.dedent(body), '  ') + textwrap.dedent(f'''
      if __name__ == '__main__':
        cli.run(main, {run_arguments})
      '''))
  return path


def _start(path):
  return subprocess.Popen(
      [sys.executable, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
      stderr=subprocess.PIPE, text=True,
      env=dict(os.environ, PYTHONPATH=ROOT))


def _finish(path):
  process = _start(path)
  stdout, stderr = process.communicate(timeout=60)
  return process.returncode, stdout, stderr


def _one_line(stderr):
  lines = [line for line in stderr.strip().splitlines() if PREFIX in line]
  assert 'Traceback' not in stderr, stderr
  assert len(lines) == 1, stderr
  return lines[0].split(PREFIX, 1)[1]


def test_disk_error_message():
  full = OSError(errno.ENOSPC, 'No space left on device', '/d/x.tfrecord')
  assert cli.disk_error_message(full, '--dataset_dir') == (
      'disk full (No space left on device: /d/x.tfrecord); free some space '
      'and rerun')
  assert cli.disk_error_message(full, '--dataset_dir', resumable=True) == (
      'disk full (No space left on device: /d/x.tfrecord); free some space '
      'and rerun: finished parts are kept')
  denied = OSError(errno.EACCES, 'Permission denied', '/d')
  assert cli.disk_error_message(denied, '--dataset_dir') == (
      'cannot write /d (Permission denied); choose a writable --dataset_dir')
  assert cli.disk_error_message(
      OSError(errno.ENOENT, 'No such file', '/d'), '--dataset_dir') is None


@pytest.mark.parametrize('code,expected', [
    ('ENOSPC', 'disk full (No space left on device: /d/x); free some space '
               'and rerun: finished parts are kept'),
    ('EROFS', 'cannot write /d/x (Read-only file system); choose a writable '
              '--dataset_dir'),
])
def test_disk_errors_are_one_line_where_output_flag_is_given(
    tmp_path, code, expected):
  path = _script(
      tmp_path, f'raise OSError(errno.{code}, __import__("os").strerror('
      f'errno.{code}), "/d/x")\n',
      "output_flag='--dataset_dir', resumable=True")
  returncode, _, stderr = _finish(path)
  assert returncode == 2
  assert _one_line(stderr) == expected


def test_other_os_errors_and_scripts_without_output_flag_keep_traceback(
    tmp_path):
  for body, run_arguments in [
      ('raise OSError(errno.ENOENT, "No such file", "/d/x")\n',
       "output_flag='--dataset_dir'"),
      ('raise OSError(errno.ENOSPC, "No space left on device", "/d/x")\n',
       '')]:
    returncode, _, stderr = _finish(_script(tmp_path, body, run_arguments))
    assert returncode == 1
    assert 'Traceback' in stderr and PREFIX not in stderr


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_resumable_script_interrupted_says_to_rerun(tmp_path, signum):
  path = _script(tmp_path, '''
      try:
        print('ready', flush=True)  # Inside: the signal may come at once.
        time.sleep(60)
      finally:
        print('cleaned up', flush=True)
      ''', 'resumable=True')
  process = _start(path)
  assert process.stdout.readline() == 'ready\n'
  process.send_signal(signum)
  stdout, stderr = process.communicate(timeout=60)
  assert process.returncode == 128 + signum
  assert 'cleaned up' in stdout  # It unwound rather than vanished.
  assert _one_line(stderr) == 'interrupted; rerun the same command to resume'
