"""One training run per train_dir: a lock file naming who holds it.

<train_dir>/train.lock holds the holder's host, pid, start time and a
heartbeat, as one JSON line. The holder keeps the file open with an
exclusive `flock` for its whole life and refreshes the heartbeat from a
daemon thread (every HEARTBEAT_SECS); it removes the file when it ends
(normally, on a user error or on SIGINT/SIGTERM).

A second run meets the lock before it writes anything and ends with one
line naming the holder. Who may take the file over:

* nobody while its flock is held: the kernel (or a network filesystem's
  lock manager) drops a flock when its process dies, however it died, so a
  held flock is a live holder;
* with the flock free, a recorded holder is stale if it ran on this host
  and its pid is gone (or is this very process: a restarted container), or
  if its heartbeat is older than STALE_AFTER_SECS (a host that died, or a
  filesystem whose flocks other hosts do not see). It is taken over with a
  warning.

Two processes racing are settled by the flock: only one holds it while it
reads and writes the record, and a file removed by a finishing holder is
noticed (its inode is no longer the path's) and retried.

A remote train_dir (`gs://`, `s3://`, `hdfs://` ...: `fileio.is_local` is
False) has no flock and no atomic create-if-absent through `tf.io.gfile`,
so `RemoteRunLock` is best effort, on the record alone: a run refuses a
lock object whose holder is not stale (the same `stale_reason`: a fresh
heartbeat, or a live pid on this host), else writes its own record with a
random token, waits SETTLE_SECS and reads the object back; if another
run's token is there, the later writer won and this run ends with the same
one line. Its heartbeat thread refreshes the object, and ends the run
(`on_lost`) if the object names another holder. Two runs starting within
the time one takes to read and write the object may both pass the first
check, and the read-back settles them as long as both writes land within
SETTLE_SECS; the stale rule is the same as the local one, so a crashed
remote holder is taken over after STALE_AFTER_SECS. `lock_for` picks the
lock of a directory.
"""
import datetime
import errno
import fcntl
import json
import os
import socket
import threading
import time
import uuid

from absl import logging

from image_classifier import cli
from image_classifier import fileio

FILENAME = 'train.lock'
HEARTBEAT_SECS = 15
STALE_AFTER_SECS = 120
# How long a reader waits for a holder that has created the file but not
# yet written its record.
_RECORD_WAIT_SECS = 2.0
_ATTEMPTS = 20
# How long a remote lock's writer waits before reading its record back.
SETTLE_SECS = 2.0


class LockHeldError(cli.UserError):
  """The train_dir is in use by another run (reported as one line)."""


def _now():
  return datetime.datetime.now().astimezone()


def _timestamp(moment):
  return moment.isoformat(timespec='seconds')


def _age_secs(timestamp, now):
  """Seconds since an ISO timestamp; None if it cannot be read."""
  try:
    return (now - datetime.datetime.fromisoformat(timestamp)).total_seconds()
  except (TypeError, ValueError):
    return None


def pid_alive(pid):
  """Whether a process `pid` exists on this host."""
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True  # Someone else's process.
  return True


def describe(record, now=None):
  """'host H, pid P, since S, last heartbeat N s ago' for a lock record."""
  if not record:
    return 'a run that has not recorded itself yet'
  now = now or _now()
  age = _age_secs(record.get('heartbeat'), now)
  beat = f', last heartbeat {age:.0f} s ago' if age is not None else ''
  return (f'host {record.get("host")}, pid {record.get("pid")}, since '
          f'{record.get("started")}{beat}')


def stale_reason(record, host, pid, now, stale_after_secs=STALE_AFTER_SECS):
  """Why a recorded holder whose flock is free is gone, or None if it may
  still run.

  Args:
    record: the lock file's record (host, pid, started, heartbeat).
    host, pid: this process's.
    now: the current time (aware datetime).
    stale_after_secs: a heartbeat older than this is stale on any host.
  """
  if record.get('host') == host:
    if record.get('pid') == pid:
      return 'its pid is this process (a restart on the same host)'
    if not isinstance(record.get('pid'), int) or not pid_alive(
        record['pid']):
      return 'its process is gone'
  age = _age_secs(record.get('heartbeat'), now)
  if age is None:
    return 'its heartbeat cannot be read'
  if age > stale_after_secs:
    return f'its heartbeat is older than {stale_after_secs} s'
  return None


def _parse(data):
  """The record of the lock file's bytes; None if empty or cut short."""
  try:
    record = json.loads(data.decode('utf-8'))
  except (UnicodeDecodeError, ValueError):
    return None
  return record if isinstance(record, dict) else None


def _read_fd(fd):
  return os.pread(fd, 1 << 16, 0)


def _same_file(fd, path):
  """Whether the open file `fd` is still the one at `path`."""
  try:
    on_disk = os.stat(path)
  except FileNotFoundError:
    return False
  opened = os.fstat(fd)
  return (opened.st_dev, opened.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _try_flock(fd):
  """Takes the exclusive flock; False if another process holds it.

  A filesystem without flocks (ENOLCK, EOPNOTSUPP) counts as taken: the
  records and heartbeats still settle who holds the lock.
  """
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    return False
  except OSError as e:
    if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS,
                       errno.EINVAL):
      raise
    logging.warning('%s: no file locks on this filesystem (%s); relying on '
                    'the recorded holder and its heartbeat.', FILENAME,
                    e.strerror)
  return True


def _encode(record):
  return (json.dumps(record, sort_keys=True) + '\n').encode('utf-8')


class _Lock:
  """What the local and the remote lock share: the record, the heartbeat
  thread and the messages. Subclasses take, refresh and drop the record
  (`acquire`, `_refresh`, `_drop`)."""

  def __init__(self, directory, flag_name='--train_dir',
               heartbeat_secs=HEARTBEAT_SECS,
               stale_after_secs=STALE_AFTER_SECS, on_lost=None):
    """
    Args:
      directory: the train_dir (it must exist).
      flag_name: the flag that named it, for the messages.
      heartbeat_secs: how often the heartbeat is refreshed.
      stale_after_secs: how old a heartbeat must be for a takeover.
      on_lost: fn(message) called from the heartbeat thread if another run
        took the lock over; default: cli.exit_now (one line, exit 2).
    """
    self.directory = directory
    self.path = os.path.join(directory, FILENAME)
    self.flag_name = flag_name
    self.heartbeat_secs = heartbeat_secs
    self.stale_after_secs = stale_after_secs
    self.on_lost = on_lost or cli.exit_now
    self.host = socket.gethostname()
    self.pid = os.getpid()
    self.record = None
    self._stop = threading.Event()
    self._thread = None
    self._write_lock = threading.Lock()

  def _new_record(self):
    started = _timestamp(_now())
    return {'host': self.host, 'pid': self.pid, 'started': started,
            'heartbeat': started}

  def _held_message(self, record):
    return (f'{self.flag_name}={self.directory} is in use by another '
            f'training run ({describe(record)}; lock file {self.path}): '
            'wait for it to end or stop it, or train in another '
            f'{self.flag_name}.')

  def _refuse_unless_stale(self, record):
    """Raises LockHeldError unless the holder `record` names (None: a
    record that cannot be read) is gone; warns when taking it over."""
    now = _now()
    reason = stale_reason(record, self.host, self.pid, now,
                          self.stale_after_secs) if record else (
                              'its record cannot be read')
    if record and reason is None:
      raise LockHeldError(self._held_message(record))
    logging.warning('Taking over %s from %s: %s.', self.path,
                    describe(record, now), reason)

  def _not_writable(self, error):
    cli.fail(f'{self.flag_name}={self.directory} is not writable: '
             f'{error.strerror or error}.')

  # ------------------------------------------------------------ heartbeat
  def _start_heartbeat(self):
    self._stop.clear()
    self._thread = threading.Thread(target=self._beat_loop,
                                    name='train-lock-heartbeat', daemon=True)
    self._thread.start()

  def _beat_loop(self):
    while not self._stop.wait(self.heartbeat_secs):
      try:
        self.beat()
      except OSError as e:
        logging.warning('Could not refresh the heartbeat of %s: %s',
                        self.path, e)

  def beat(self):
    """Refreshes the heartbeat; calls on_lost if the lock is no longer
    ours."""
    with self._write_lock:
      if not self._held() or self._stop.is_set():
        return
      if not self._still_ours():
        self.on_lost(self._lost_message())
        return
      self.record = dict(self.record, heartbeat=_timestamp(_now()))
      self._refresh()

  def _lost_message(self):
    try:
      holder = describe(_parse(fileio.read_bytes(self.path)))
    except OSError:
      holder = 'nobody: the lock file was removed'
    return (f'{self.flag_name}={self.directory}: the lock {self.path} now '
            f'names {holder}; stopping so that two runs do not write the '
            f'same {self.flag_name}.')

  # ------------------------------------------------------------ releasing
  def release(self):
    """Stops the heartbeat and removes the lock file if it is ours."""
    self._stop.set()
    if self._thread is not None:
      self._thread.join()
      self._thread = None
    with self._write_lock:
      if self._held():
        self._drop()

  def __enter__(self):
    return self.acquire()

  def __exit__(self, *exc_info):
    self.release()


class RunLock(_Lock):
  """The lock of one local directory; `with RunLock(dir):` holds it
  inside."""

  def __init__(self, directory, **kwargs):
    """Args: as `_Lock`."""
    super().__init__(directory, **kwargs)
    self._fd = None

  def _held(self):
    return self._fd is not None

  # ------------------------------------------------------------ acquiring
  def acquire(self):
    """Takes the lock, or raises LockHeldError naming its holder.

    Raises:
      LockHeldError: if another live run holds it.
      cli.UserError: if the lock file cannot be written.
    """
    for _ in range(_ATTEMPTS):
      try:
        fd, created = self._open()
      except OSError as e:
        self._not_writable(e)
      if fd is None:
        continue  # Removed between our two opens: try again.
      try:
        if self._take(fd, created):
          self._fd = fd
          self._start_heartbeat()
          return self
      except BaseException:
        os.close(fd)
        raise
      os.close(fd)
    cli.fail(f'{self.flag_name}={self.directory}: could not take {self.path}, '
             'which other processes keep creating and removing; try again.')

  def _open(self):
    """(fd, created): the lock file, created here if there was none; fd
    None if it was removed between the two opens."""
    try:
      return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL,
                     0o644), True
    except FileExistsError:
      pass
    try:
      return os.open(self.path, os.O_RDWR), False
    except FileNotFoundError:
      return None, False

  def _take(self, fd, created):
    """Records this process in the open lock file if it may; False to try
    again (the file was removed or replaced meanwhile)."""
    if not _try_flock(fd):
      raise LockHeldError(self._held_message(self._wait_for_record(fd)))
    if not _same_file(fd, self.path):
      return False
    try:
      previous = None if created else _read_fd(fd)
      if previous:
        self._refuse_unless_stale(_parse(previous))
      elif not created:
        # Created by a process that stopped (or lost the race) before it
        # wrote its record.
        logging.info('Taking over the empty %s.', self.path)
      self.record = self._new_record()
      self._write(fd, self.record)
    except LockHeldError:
      raise
    except BaseException:
      # Ours by the flock, and half-written: remove it.
      if _same_file(fd, self.path):
        os.unlink(self.path)
      raise
    return True

  def _wait_for_record(self, fd):
    """The holder's record, waiting briefly if it is being written."""
    deadline = time.time() + _RECORD_WAIT_SECS
    while True:
      record = _parse(_read_fd(fd))
      if record or time.time() > deadline:
        return record
      time.sleep(0.05)

  @staticmethod
  def _write(fd, record):
    data = _encode(record)
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))
    os.fsync(fd)

  def _refresh(self):
    self._write(self._fd, self.record)

  def _still_ours(self):
    if not _same_file(self._fd, self.path):
      return False
    record = _parse(_read_fd(self._fd)) or {}
    return all(record.get(k) == self.record[k]
               for k in ('host', 'pid', 'started'))

  def _drop(self):
    try:
      if self._still_ours():
        os.unlink(self.path)
    finally:
      os.close(self._fd)  # Drops the flock.
      self._fd = None


class RemoteRunLock(_Lock):
  """The best-effort lock of a remote directory (see the module
  docstring); `with RemoteRunLock(dir):` holds it inside."""

  def __init__(self, directory, settle_secs=None, **kwargs):
    """
    Args:
      directory: the remote train_dir.
      settle_secs: how long to wait before reading the record back;
        default SETTLE_SECS.
      **kwargs: as `_Lock`.
    """
    super().__init__(directory, **kwargs)
    self.settle_secs = SETTLE_SECS if settle_secs is None else settle_secs

  def _held(self):
    return self.record is not None

  def _read(self):
    """The lock object's record (None if it cannot be read), and whether
    there is one."""
    try:
      return _parse(fileio.read_bytes(self.path)), True
    except FileNotFoundError:
      return None, False

  def acquire(self):
    """Takes the lock, or raises LockHeldError naming its holder.

    Raises:
      LockHeldError: if another run holds it, or won the race for it.
      cli.UserError: if the lock object cannot be written.
    """
    try:
      previous, exists = self._read()
      if exists:
        self._refuse_unless_stale(previous)
      record = dict(self._new_record(), token=uuid.uuid4().hex)
      fileio.write_atomic(self.path, _encode(record))
      time.sleep(self.settle_secs)
      there, _ = self._read()
    except OSError as e:
      self._not_writable(e)
    if not there or there.get('token') != record['token']:
      # Another run wrote after us: the last writer holds it.
      raise LockHeldError(self._held_message(there))
    self.record = record
    self._start_heartbeat()
    return self

  def _still_ours(self):
    record, _ = self._read()
    return bool(record) and record.get('token') == self.record['token']

  def _refresh(self):
    fileio.write_atomic(self.path, _encode(self.record))

  def _drop(self):
    try:
      if self._still_ours():
        fileio.gfile().remove(self.path)
    finally:
      self.record = None


def lock_for(directory, **kwargs):
  """The lock of `directory`: `RunLock` on a local disk, else the
  best-effort `RemoteRunLock`.

  Args:
    directory: the train_dir.
    **kwargs: as `RunLock` (flag_name, heartbeat_secs, ...).
  """
  if fileio.is_local(directory):
    return RunLock(fileio.local_path(directory), **kwargs)
  return RemoteRunLock(directory, **kwargs)
