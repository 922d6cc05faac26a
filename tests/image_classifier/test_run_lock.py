"""One run per train_dir: image_classifier/run_lock.py.

Holders in other processes are small Python processes that take the lock
and wait; stale locks are written by hand, as a dead process or another
host leaves them.
"""
import datetime
import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from image_classifier import cli
from image_classifier import fileio
from image_classifier import run_lock

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# Takes the lock of argv[1] at time argv[2], prints 'won <pid>' or 'lost
# <message>', then (if it won) holds it until the file argv[3] exists.
_CONTENDER = textwrap.dedent('''
    import os, sys, time
    from image_classifier import cli, run_lock
    directory, start, done = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    while time.time() < start:
      pass
    try:
      lock = run_lock.RunLock(directory).acquire()
    except cli.UserError as e:
      print('lost', e, flush=True)
      sys.exit(0)
    print('won', os.getpid(), flush=True)
    while not os.path.exists(done):
      time.sleep(0.02)
    lock.release()
    ''')


def _start_contender(directory, start, done):
  return subprocess.Popen(
      [sys.executable, '-c', _CONTENDER, str(directory), str(start),
       str(done)], cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stamp(seconds_ago=0):
  moment = datetime.datetime.now().astimezone() - datetime.timedelta(
      seconds=seconds_ago)
  return moment.isoformat(timespec='seconds')


def _write_lock(directory, host, pid, heartbeat_secs_ago=0):
  record = {'host': host, 'pid': pid, 'started': _stamp(3600),
            'heartbeat': _stamp(heartbeat_secs_ago)}
  path = os.path.join(directory, run_lock.FILENAME)
  with open(path, 'w') as f:
    json.dump(record, f)
  return path


def _dead_pid():
  process = subprocess.Popen([sys.executable, '-c', 'pass'])
  process.wait()
  assert not run_lock.pid_alive(process.pid)
  return process.pid


def _read(path):
  with open(path) as f:
    return json.load(f)


def _one_line(error):
  message = str(error)
  assert '\n' not in message
  return message


def test_acquire_records_the_holder_and_release_removes_it(tmp_path):
  path = tmp_path / run_lock.FILENAME
  with run_lock.RunLock(str(tmp_path)) as lock:
    record = _read(path)
    assert record['host'] == socket.gethostname()
    assert record['pid'] == os.getpid()
    assert record['started'] == record['heartbeat']
    assert record == lock.record
  assert not path.exists()
  assert os.listdir(tmp_path) == []


def test_a_second_holder_is_refused_with_one_line(tmp_path):
  path = tmp_path / run_lock.FILENAME
  with run_lock.RunLock(str(tmp_path)) as lock:
    before = path.read_bytes()
    with pytest.raises(run_lock.LockHeldError) as info:
      run_lock.RunLock(str(tmp_path)).acquire()
    message = _one_line(info.value)
    assert isinstance(info.value, cli.UserError)
    for fragment in (f'--train_dir={tmp_path}', 'in use',
                     f'host {socket.gethostname()}', f'pid {os.getpid()}',
                     f'since {lock.record["started"]}', str(path)):
      assert fragment in message, message
    assert path.read_bytes() == before
  assert not path.exists()


def test_two_processes_racing_exactly_one_wins(tmp_path):
  for round_ in range(3):
    directory = tmp_path / f'train{round_}'
    directory.mkdir()
    done = tmp_path / f'done{round_}'
    start = time.time() + 2.0
    contenders = [_start_contender(directory, start, done) for _ in range(4)]
    try:
      results = [c.stdout.readline().split(' ', 1) for c in contenders]
      winners = [int(r[1]) for r in results if r[0] == 'won']
      assert len(winners) == 1, results
      assert _read(directory / run_lock.FILENAME)['pid'] == winners[0]
      for kind, text in results:
        if kind == 'lost':
          assert f'pid {winners[0]}' in text, results
    finally:
      done.write_text('')
      for contender in contenders:
        contender.communicate(timeout=30)
    assert all(c.returncode == 0 for c in contenders)
    assert not (directory / run_lock.FILENAME).exists()


def test_a_killed_holder_is_taken_over_with_a_warning(tmp_path, caplog):
  holder = _start_contender(tmp_path, 0, tmp_path / 'never')
  try:
    kind, pid = holder.stdout.readline().split()
    assert kind == 'won'
    with pytest.raises(run_lock.LockHeldError, match=f'pid {pid}'):
      run_lock.RunLock(str(tmp_path)).acquire()
  finally:
    holder.kill()
    holder.communicate()
  caplog.set_level(logging.WARNING)
  with run_lock.RunLock(str(tmp_path)):
    assert _read(tmp_path / run_lock.FILENAME)['pid'] == os.getpid()
  warnings = [r.getMessage() for r in caplog.records
              if r.levelno == logging.WARNING]
  assert len(warnings) == 1, warnings
  assert f'pid {pid}' in warnings[0] and 'process is gone' in warnings[0]


def test_a_dead_pid_of_this_host_is_taken_over(tmp_path, caplog):
  pid = _dead_pid()
  _write_lock(str(tmp_path), socket.gethostname(), pid)
  caplog.set_level(logging.WARNING)
  with run_lock.RunLock(str(tmp_path)):
    assert _read(tmp_path / run_lock.FILENAME)['pid'] == os.getpid()
  assert any(f'pid {pid}' in r.getMessage() and 'gone' in r.getMessage()
             for r in caplog.records if r.levelno == logging.WARNING)


def test_this_process_own_pid_is_a_restart(tmp_path):
  # A container restarted with the same host name and pid.
  _write_lock(str(tmp_path), socket.gethostname(), os.getpid())
  with run_lock.RunLock(str(tmp_path)) as lock:
    assert _read(tmp_path / run_lock.FILENAME) == lock.record


def test_a_live_pid_of_this_host_with_a_fresh_heartbeat_is_refused(
    tmp_path):
  # Its flock is not seen (say, a filesystem without flocks): the live pid
  # and the fresh heartbeat still say it runs.
  path = _write_lock(str(tmp_path), socket.gethostname(), os.getppid())
  before = open(path, 'rb').read()
  with pytest.raises(run_lock.LockHeldError, match=f'pid {os.getppid()}'):
    run_lock.RunLock(str(tmp_path)).acquire()
  assert open(path, 'rb').read() == before


def test_another_host_old_heartbeat_taken_over_fresh_one_refused(
    tmp_path, caplog):
  path = _write_lock(str(tmp_path), 'elsewhere.example', 4242,
                     heartbeat_secs_ago=run_lock.STALE_AFTER_SECS - 30)
  before = open(path, 'rb').read()
  with pytest.raises(run_lock.LockHeldError) as info:
    run_lock.RunLock(str(tmp_path)).acquire()
  message = _one_line(info.value)
  assert 'host elsewhere.example, pid 4242' in message, message
  assert open(path, 'rb').read() == before

  _write_lock(str(tmp_path), 'elsewhere.example', 4242,
              heartbeat_secs_ago=run_lock.STALE_AFTER_SECS + 30)
  caplog.set_level(logging.WARNING)
  with run_lock.RunLock(str(tmp_path)):
    assert _read(path)['host'] == socket.gethostname()
  (warning,) = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING]
  assert 'host elsewhere.example, pid 4242' in warning
  assert 'heartbeat is older than' in warning


def test_an_empty_or_unreadable_lock_file_without_holder_is_taken_over(
    tmp_path):
  path = tmp_path / run_lock.FILENAME
  for content in ('', '{"host": "cut sh'):
    path.write_text(content)
    with run_lock.RunLock(str(tmp_path)) as lock:
      assert _read(path) == lock.record
    assert not path.exists()


def test_the_heartbeat_thread_refreshes_the_record(tmp_path, monkeypatch):
  later = datetime.datetime.now().astimezone() + datetime.timedelta(
      hours=1)
  path = tmp_path / run_lock.FILENAME
  with run_lock.RunLock(str(tmp_path), heartbeat_secs=0.05) as lock:
    started = lock.record['started']
    monkeypatch.setattr(run_lock, '_now', lambda: later)
    deadline = time.time() + 10
    while (_read(path)['heartbeat'] != later.isoformat(timespec='seconds')
           and time.time() < deadline):
      time.sleep(0.05)
    record = _read(path)
    assert record['heartbeat'] == later.isoformat(timespec='seconds')
    assert record['started'] == started
  assert not path.exists()


def test_a_lock_taken_by_another_run_is_reported_and_left_alone(tmp_path):
  lost = []
  lock = run_lock.RunLock(str(tmp_path), heartbeat_secs=3600,
                          on_lost=lost.append).acquire()
  try:
    # What a run on a host that does not see our flock would write.
    path = _write_lock(str(tmp_path), 'elsewhere.example', 4242)
    taken = open(path, 'rb').read()
    lock.beat()
    (message,) = lost
    assert 'host elsewhere.example, pid 4242' in message
    assert '\n' not in message
  finally:
    lock.release()
  assert open(path, 'rb').read() == taken  # Not ours to remove.


def test_an_unwritable_directory_is_one_line(tmp_path):
  missing = tmp_path / 'missing'
  with pytest.raises(cli.UserError, match='--train_dir=.*missing'):
    run_lock.RunLock(str(missing)).acquire()


# ---------------------------------------------------------- remote train_dir
@pytest.fixture
def ram_dir():
  """A fresh ram:// train_dir (TensorFlow's in-memory filesystem)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  path = f'ram://run-lock-{os.getpid()}-{time.time_ns()}'
  tf.io.gfile.makedirs(path)
  yield path
  tf.io.gfile.rmtree(path)


def _remote_lock(directory, **kwargs):
  return run_lock.lock_for(directory, settle_secs=0, **kwargs)


def _write_remote_lock(directory, host, pid, heartbeat_secs_ago=0):
  record = {'host': host, 'pid': pid, 'started': _stamp(3600),
            'heartbeat': _stamp(heartbeat_secs_ago), 'token': 'theirs'}
  fileio.write_json_atomic(f'{directory}/{run_lock.FILENAME}', record)
  return record


def test_lock_for_picks_the_lock_of_the_filesystem(tmp_path):
  assert type(run_lock.lock_for(str(tmp_path))) is run_lock.RunLock
  local = run_lock.lock_for(f'file://{tmp_path}')
  assert type(local) is run_lock.RunLock
  assert local.path == str(tmp_path / run_lock.FILENAME)
  assert type(run_lock.lock_for('gs://b/t')) is run_lock.RemoteRunLock


def test_remote_lock_records_the_holder_and_release_removes_it(ram_dir):
  path = f'{ram_dir}/{run_lock.FILENAME}'
  with _remote_lock(ram_dir) as lock:
    record = fileio.read_json(path)
    assert record == lock.record
    assert record['host'] == socket.gethostname()
    assert record['pid'] == os.getpid()
    # A second run (another pid) is refused while the heartbeat is fresh.
    other = _remote_lock(ram_dir)
    other.pid = 1
    with pytest.raises(run_lock.LockHeldError) as raised:
      other.acquire()
    assert f'--train_dir={ram_dir} is in use by another training run' in (
        _one_line(raised.value))
  assert not fileio.gfile().exists(path)


def test_remote_lock_of_another_host_fresh_refused_stale_taken_over(
    ram_dir, caplog):
  _write_remote_lock(ram_dir, 'elsewhere.example', 4242)
  with pytest.raises(run_lock.LockHeldError,
                     match='host elsewhere.example, pid 4242'):
    _remote_lock(ram_dir).acquire()
  _write_remote_lock(ram_dir, 'elsewhere.example', 4242,
                     heartbeat_secs_ago=run_lock.STALE_AFTER_SECS + 60)
  with caplog.at_level(logging.WARNING):
    with _remote_lock(ram_dir) as lock:
      assert lock.record['token'] != 'theirs'
  assert 'its heartbeat is older than' in caplog.text


def test_remote_lock_the_later_writer_wins_a_race(ram_dir, monkeypatch):
  def another_run_writes_meanwhile(seconds):
    del seconds
    _write_remote_lock(ram_dir, 'elsewhere.example', 4242)

  monkeypatch.setattr(run_lock.time, 'sleep', another_run_writes_meanwhile)
  with pytest.raises(run_lock.LockHeldError,
                     match='host elsewhere.example, pid 4242'):
    run_lock.lock_for(ram_dir).acquire()
  # The winner's record is left alone.
  assert fileio.read_json(f'{ram_dir}/{run_lock.FILENAME}')['token'] == (
      'theirs')


def test_remote_lock_taken_over_is_reported_and_left_alone(ram_dir):
  lost = []
  lock = _remote_lock(ram_dir, heartbeat_secs=3600,
                      on_lost=lost.append).acquire()
  try:
    lock.beat()
    assert not lost
    theirs = _write_remote_lock(ram_dir, 'elsewhere.example', 4242)
    lock.beat()
    (message,) = lost
    assert 'host elsewhere.example, pid 4242' in _one_line(message)
  finally:
    lock.release()
  assert fileio.read_json(f'{ram_dir}/{run_lock.FILENAME}') == theirs
