"""A parameter-server / worker cluster on TensorFlow's own runtime.

The original research/slim left the cluster to the user: start a
`tf.train.Server` per machine by hand, pass `--master=grpc://...`, and hope
every task came up. Here each training process starts its own server from a
cluster description, given either as flags

    --ps_hosts=ps0:2222,ps1:2222 --worker_hosts=w0:2222,w1:2222
    --job_name=worker --task=1

or as the standard `TF_CONFIG` environment variable that launchers set
(Ray Train, Kubeflow's TFJob, Vertex AI, deployment/k8s/ for a plain
Kubernetes Indexed Job):

    {"cluster": {"ps": ["ps0:2222"], "worker": ["w0:2222", "w1:2222"]},
     "task": {"type": "worker", "index": 1}}

A `chief` job (one task) is accepted as TF_CONFIG writes it: it is replica 0
and the workers follow it. An `evaluator` entry is not part of the training
cluster (nobody waits for it), and a process whose task is the evaluator
is eval_image_classifier.py's, not a training task. The launchers' own
fields ("environment", "job", "rpc_layer", a task's "trial", ...) are
ignored. Without parameter servers the workers average their gradients
with all-reduce (`Cluster.has_parameter_servers`).

What lives here: the `Cluster` description and its checks, the server
start, the wait for unreachable tasks (with a
deadline instead of the original's silent hang), and the parameter server's
serve loop: a ps serves until every worker has said it finished, then exits,
instead of `server.join()` forever. A training process's whole part in a
cluster (flags to a Deployment, the worker's start, the ps's life and exit,
the lost-task lines) is `training_cluster.py`, built on these pieces.

The "finished" word is a FIFOQueue per ps task, created on that task under a
shared name: each worker enqueues its replica id when it has finished
training, and the ps dequeues until it has seen every replica once. A worker
that is killed never enqueues, so the ps waits for it to be restarted.
"""
import contextlib
import dataclasses
import ipaddress
import json
import socket
import threading
import time

from absl import logging
import tensorflow as tf

tf1 = tf.compat.v1

__all__ = ['Cluster', 'from_flags', 'tf_config_task_type',
           'EVALUATOR', 'EVALUATOR_TASK_MESSAGE', 'start_server',
           'wait_for_tasks', 'watching', 'lost_task_message',
           'unreachable_task', 'done_signal_ops', 'serve_until_workers_finish',
           'TaskUnreachable', 'exposure_warning', 'reporting_stalls']

PS = 'ps'
WORKER = 'worker'
CHIEF = 'chief'
EVALUATOR = 'evaluator'
_TRAINING_JOBS = (CHIEF, WORKER)
_KNOWN_JOBS = (PS,) + _TRAINING_JOBS

EVALUATOR_TASK_MESSAGE = (
    'TF_CONFIG makes this task the evaluator, which is not part of the '
    'training cluster: run eval_image_classifier.py --wait_for_checkpoints '
    "--checkpoint_path=<the workers' --train_dir> on it instead.")


class TaskUnreachable(ValueError):
  """A cluster task did not answer within the start-up deadline (a user
  error: its message names the task and what to do)."""


@dataclasses.dataclass(frozen=True)
class Cluster:
  """Who is in the cluster and which task this process is.

  Attributes:
    jobs: {job name: [host:port, ...]} for the jobs 'ps', 'worker' and
      optionally 'chief'.
    job_name: this process's job.
    task: this process's index in its job.
  """
  jobs: dict
  job_name: str
  task: int

  @property
  def num_ps(self):
    return len(self.jobs.get(PS, ()))

  @property
  def has_parameter_servers(self):
    """Whether variables live on parameter servers; without them the
    training replicas all-reduce their gradients."""
    return self.num_ps > 0

  @property
  def num_replicas(self):
    """Training replicas: the chief (if a 'chief' job exists) and workers."""
    return sum(len(self.jobs.get(job, ())) for job in _TRAINING_JOBS)

  @property
  def is_ps(self):
    return self.job_name == PS

  @property
  def replica_id(self):
    """This training task's replica index; the chief is replica 0."""
    if self.job_name == WORKER:
      return len(self.jobs.get(CHIEF, ())) + self.task
    return 0

  @property
  def is_chief(self):
    return not self.is_ps and self.replica_id == 0

  @property
  def address(self):
    return self.jobs[self.job_name][self.task]

  @property
  def device(self):
    """This task's device prefix, task id included ('/job:worker/task:1')."""
    return f'/job:{self.job_name}/task:{self.task}'

  def cluster_spec(self):
    return tf.train.ClusterSpec(self.jobs)

  def describe(self, job, task):
    """'ps task 0 at host:2222', for messages."""
    return f'{job} task {task} at {self.jobs[job][task]}'

  def session_config(self, **kwargs):
    """A ConfigProto that sees only the ps tasks and this task.

    Without the filter, creating a session contacts every task of the
    cluster, so one worker that is down (or restarting) stalls the others.
    """
    filters = [self.device] if self.is_ps else ['/job:ps', self.device]
    return tf1.ConfigProto(device_filters=filters, **kwargs)


def _parse_hosts(value, what):
  """['host:port', ...] from a comma-separated list; ValueError if bad."""
  hosts = [h.strip() for h in value.split(',') if h.strip()]
  for host in hosts:
    name, sep, port = host.rpartition(':')
    if not (sep and name and port.isdigit() and 0 < int(port) < 65536):
      raise ValueError(f'{what} holds {host!r}, which is not host:port '
                       '(for example localhost:2222).')
  if len(set(hosts)) != len(hosts):
    raise ValueError(f'{what} lists an address twice: {value}.')
  return hosts


def _read_tf_config(text):
  """TF_CONFIG's JSON as a dict with a "cluster" and a "task" dict."""
  try:
    config = json.loads(text)
  except ValueError as e:
    raise ValueError(f'TF_CONFIG is not valid JSON ({e}).') from e
  if not isinstance(config, dict) or not isinstance(
      config.get('cluster'), dict) or not isinstance(config.get('task'),
                                                     dict):
    raise ValueError('TF_CONFIG must look like {"cluster": {"ps": [...], '
                     '"worker": [...]}, "task": {"type": "worker", '
                     '"index": 0}}.')
  return config


def _tf_config_hosts(job, hosts):
  """The checked host list of TF_CONFIG's cluster entry `job`."""
  if isinstance(hosts, dict):
    raise ValueError(f'TF_CONFIG cluster.{job} maps task indices to '
                     'addresses (a sparse cluster, as TFJob writes with '
                     'enableDynamicWorker); every task needs the whole '
                     'cluster: turn enableDynamicWorker off.')
  if not isinstance(hosts, list) or not all(
      isinstance(h, str) for h in hosts):
    raise ValueError(f'TF_CONFIG cluster.{job} must be a list of '
                     '"host:port" strings.')
  return _parse_hosts(','.join(hosts), f'TF_CONFIG cluster.{job}')


def _from_tf_config(text):
  """(jobs, job_name, task) from a TF_CONFIG JSON string.

  The jobs are the training cluster's: an evaluator entry is checked and
  left out, since no training task talks to it.
  """
  config = _read_tf_config(text)
  jobs = {}
  for job, hosts in config['cluster'].items():
    if job not in _KNOWN_JOBS + (EVALUATOR,):
      raise ValueError(f'TF_CONFIG names the job {job!r}; this script runs '
                       f'the jobs {", ".join(_KNOWN_JOBS)} (an evaluator is '
                       'eval_image_classifier.py --wait_for_checkpoints).')
    jobs[job] = _tf_config_hosts(job, hosts)
  if len(jobs.pop(EVALUATOR, ())) > 1:
    raise ValueError('TF_CONFIG cluster.evaluator lists several tasks; a '
                     'cluster has at most one evaluator.')
  task = config['task']
  job_name, index = task.get('type'), task.get('index', 0)
  if not isinstance(index, int) or isinstance(index, bool):
    raise ValueError(f'TF_CONFIG task.index must be an integer; got '
                     f'{index!r}.')
  return jobs, job_name, index


def tf_config_task_type(tf_config):
  """The task type TF_CONFIG gives this process ('worker', 'evaluator',
  ...), or None when TF_CONFIG is unset or empty.

  Raises:
    ValueError: for a TF_CONFIG that is not a cluster and task description.
  """
  if not tf_config or not tf_config.strip():
    return None
  return _read_tf_config(tf_config)['task'].get('type')


def from_flags(ps_hosts, worker_hosts, job_name, task, tf_config=None):
  """The Cluster the flags or TF_CONFIG describe, or None for no cluster.

  Several workers with parameter servers train through them; several
  workers without any all-reduce their gradients (deployment/all_reduce.py).

  Args:
    ps_hosts: --ps_hosts, comma-separated host:port ('' or None: none).
    worker_hosts: --worker_hosts.
    job_name: --job_name ('ps' or 'worker'; None when not given).
    task: --task.
    tf_config: the TF_CONFIG environment variable's value, used when no
      host flag is given.

  Returns:
    A `Cluster`, or None when neither the flags nor TF_CONFIG describe one.

  Raises:
    ValueError: for a malformed host list or TF_CONFIG, an unknown job, a
      task outside its job, or an evaluator task; the message names the
      flag.
  """
  if ps_hosts or worker_hosts:
    jobs = {PS: _parse_hosts(ps_hosts or '', '--ps_hosts'),
            WORKER: _parse_hosts(worker_hosts or '', '--worker_hosts')}
    if job_name is None:
      raise ValueError('--job_name must be ps or worker when --ps_hosts / '
                       '--worker_hosts are given.')
    where = '--job_name'
  elif tf_config and tf_config.strip():
    if job_name is not None:
      raise ValueError('--job_name needs --ps_hosts and --worker_hosts; with '
                       'TF_CONFIG the task comes from its "task" entry.')
    jobs, job_name, task = _from_tf_config(tf_config)
    if job_name == EVALUATOR:
      raise ValueError(EVALUATOR_TASK_MESSAGE)
    where = 'TF_CONFIG task.type'
  elif job_name is not None:
    raise ValueError('--job_name needs --ps_hosts and --worker_hosts (or a '
                     'TF_CONFIG environment variable).')
  else:
    return None
  if job_name not in jobs or job_name not in _KNOWN_JOBS:
    known = ', '.join(j for j in _KNOWN_JOBS if jobs.get(j))
    raise ValueError(f'{where}={job_name!r} is not a job of the cluster '
                     f'({known}).')
  size = len(jobs[job_name])
  if not 0 <= task < size:
    raise ValueError(f'task {task} is outside the {job_name} job, which has '
                     f'{size} task{"s" if size != 1 else ""} (0 to '
                     f'{size - 1}).')
  cluster = Cluster(jobs={j: h for j, h in jobs.items() if h},
                    job_name=job_name, task=task)
  if len(cluster.jobs.get(CHIEF, ())) > 1:
    raise ValueError('A cluster has at most one chief task.')
  if cluster.num_replicas == 0:
    raise ValueError('The cluster has no worker: give --worker_hosts.')
  # Several workers and no parameter server train with all-reduce
  # (deployment/all_reduce.py).
  return cluster


def _is_private(host):
  """Whether `host` (a name or an IP) resolves only to loopback, private or
  link-local addresses; None when it does not resolve here."""
  try:
    infos = socket.getaddrinfo(host.strip('[]'), None)
  except (OSError, UnicodeError):
    return None
  addresses = {ipaddress.ip_address(info[4][0].split('%')[0])
               for info in infos}
  return all(a.is_loopback or a.is_private or a.is_link_local
             for a in addresses)


def exposure_warning(cluster):
  """The warning line for a cluster whose addresses are public, or None.

  TensorFlow's gRPC server listens on every interface of the machine
  (0.0.0.0 and [::], whatever host the cluster names: the bind address is
  fixed in TensorFlow), and its runtime has no authentication: whoever
  reaches a task's port can run any op there, reading and writing files as
  the training user. On loopback or a private network that is the
  network's business; on a public address it is everyone's.
  """
  public = sorted({address for hosts in cluster.jobs.values()
                   for address in hosts
                   if _is_private(address.rpartition(':')[0]) is False})
  if not public:
    return None
  return (f'Cluster address(es) {", ".join(public)} are not on a private '
          "network: TensorFlow's runtime has no authentication, and anyone "
          'who reaches these ports can read and write files as this user. '
          'Run clusters on a private network and firewall the ports '
          '(docs/security.md).')


def start_server(cluster, config=None):
  """Starts this task's gRPC server; returns the `tf1.train.Server`.

  The server listens on its port on every interface (TensorFlow gives no
  choice of address); a cluster with public addresses is warned about.
  `config` is its default session ConfigProto (None: the cluster's
  session_config(); all-reduce workers add their group leader).

  Raises:
    ValueError: when the server cannot listen on its address (in use, or
      not an address of this machine).
  """
  warning = exposure_warning(cluster)
  if warning:
    logging.warning(warning)
  try:
    return tf1.train.Server(cluster.cluster_spec(), job_name=cluster.job_name,
                            task_index=cluster.task,
                            config=config or cluster.session_config(),
                            start=True)
  except tf.errors.OpError as e:
    where = cluster.describe(cluster.job_name, cluster.task)
    raise ValueError(
        f'cannot start the server of {where} '
        f'({e.message.strip().splitlines()[0]}): is the port in use, or '
        'the host not this machine?') from e


def _reachable(address, timeout=1.0):
  host, _, port = address.rpartition(':')
  try:
    with socket.create_connection((host.strip('[]'), int(port)),
                                  timeout=timeout):
      return True
  except OSError:
    return False


def wait_for_tasks(cluster, jobs, timeout_secs, log_every_secs=10,
                   poll_secs=0.5):
  """Waits until every task of `jobs` accepts connections.

  Logs which address it is waiting for every `log_every_secs`.

  Raises:
    TaskUnreachable: naming the first task still unreachable after
      `timeout_secs`.
  """
  pending = [(job, task) for job in jobs
             for task in range(len(cluster.jobs.get(job, ())))]
  start = time.time()
  last_log = None
  while pending:
    pending = [(job, task) for job, task in pending
               if not _reachable(cluster.jobs[job][task])]
    if not pending:
      break
    now = time.time()
    if now - start >= timeout_secs:
      job, task = pending[0]
      raise TaskUnreachable(
          f'{cluster.describe(job, task)} did not answer within '
          f'{timeout_secs:g} s (--cluster_startup_timeout_secs); start it, '
          'or check the address and the firewall.')
    if last_log is None or now - last_log >= log_every_secs:
      logging.info('Waiting for %s ...', ', '.join(
          cluster.describe(job, task) for job, task in pending))
      last_log = now
    time.sleep(poll_secs)


def lost_task_message(cluster, job, task):
  """The one line for a task lost during training."""
  return (f'Lost contact with {cluster.describe(job, task)}, so training '
          'stopped. Restart it (or the whole cluster) with the same '
          'commands: training resumes from the last checkpoint in '
          '--train_dir.')


def unreachable_task(cluster, jobs):
  """(job, task) of the first task of `jobs` refusing connections, or None."""
  for job in jobs:
    for task, address in enumerate(cluster.jobs.get(job, ())):
      if not _reachable(address):
        return job, task
  return None


@contextlib.contextmanager
def watching(cluster, jobs, on_lost, interval_secs=1.0, misses=3):
  """Watches the tasks of `jobs` while the body runs.

  A session run that needs a task that died does not fail: it waits for
  the task to come back, forever. So a thread probes each task every
  `interval_secs`, and when one has refused connections `misses` times in
  a row, calls `on_lost(message)` (which should end the process: the main
  thread is stuck in the run).
  """
  stop = threading.Event()
  tasks = [(job, task) for job in jobs
           for task in range(len(cluster.jobs.get(job, ())))]

  def watch():
    missed = {task: 0 for task in tasks}
    while not stop.wait(interval_secs):
      for job, task in tasks:
        if _reachable(cluster.jobs[job][task]):
          missed[job, task] = 0
          continue
        missed[job, task] += 1
        if missed[job, task] >= misses and not stop.is_set():
          on_lost(lost_task_message(cluster, job, task))
          return

  thread = threading.Thread(target=watch, name='cluster-watch', daemon=True)
  thread.start()
  try:
    yield
  finally:
    stop.set()
    thread.join()


class reporting_stalls:  # pylint: disable=invalid-name
  """Context manager: logs who a synchronous step waits for, while it waits.

  With --sync_replicas a worker's step needs a token that the chief hands
  out after each update: when the chief died, the other workers wait for
  one forever and silently (the parameter servers they watch are still
  up), and a chief waits as long as too few gradients arrive. While the
  body runs, a thread notices when no step has finished for `every_secs`
  and logs, every `every_secs`, the step it is stuck after and which
  training tasks no longer accept connections. `step_callback` feeds slim.learning.train.
  """

  def __init__(self, cluster, every_secs):
    self._cluster = cluster
    self._every_secs = every_secs
    self._stop = threading.Event()
    self._last_step = None
    self._last_time = time.monotonic()
    self._thread = threading.Thread(target=self._watch, daemon=True,
                                    name='stall-report')

  def step_callback(self, global_step, loss, seconds):
    del loss, seconds
    self._last_step = global_step
    self._last_time = time.monotonic()

  def message(self, waited_secs):
    """The line logged after `waited_secs` without a finished step."""
    cluster = self._cluster
    silent = [cluster.describe(job, task) for job in _TRAINING_JOBS
              for task, address in enumerate(cluster.jobs.get(job, ()))
              if (job, task) != (cluster.job_name, cluster.task)
              and not _reachable(address)]
    after = ('since start-up' if self._last_step is None
             else f'after global step {self._last_step}')
    who = (f'not answering: {", ".join(silent)}; restart it with the same '
           'command' if silent else
           'every training task answers, so one is slow or stuck')
    return (f'No step finished for {waited_secs:.0f} s {after}: a '
            f'synchronous step waits for the gradients of other replicas '
            f'({who}).')

  def _watch(self):
    while not self._stop.wait(self._every_secs):
      waited = time.monotonic() - self._last_time
      if waited >= self._every_secs:
        logging.warning(self.message(waited))

  def __enter__(self):
    self._last_time = time.monotonic()
    self._thread.start()
    return self

  def __exit__(self, *exc_info):
    self._stop.set()
    self._thread.join()


def _done_queue(ps_task, capacity):
  with tf1.device(f'/job:{PS}/task:{ps_task}'):
    return tf1.FIFOQueue(capacity, [tf.int32], shapes=[[]],
                         shared_name=f'slim_workers_done_{ps_task}',
                         name=f'workers_done_{ps_task}')


def done_signal_ops(cluster):
  """Ops a worker runs once it has finished: tell each ps task so.

  Build them in the training graph (before it is finalized).
  """
  with tf1.name_scope('cluster'):
    return [_done_queue(i, cluster.num_replicas).enqueue(cluster.replica_id)
            for i in range(cluster.num_ps)]


def serve_until_workers_finish(cluster, server, stop_event, poll_secs=0.5):
  """A parameter server's life: serve until every worker has finished.

  Args:
    cluster: the Cluster; this process is one of its ps tasks.
    server: this task's running server.
    stop_event: a threading.Event; when set (by a signal handler), stop
      waiting and return False.
    poll_secs: how often stop_event is checked.

  Returns:
    True once every training replica has signalled it finished, False if
    stop_event stopped the wait.
  """
  finished = set()
  replicas = cluster.num_replicas
  failure = []

  def drain():
    try:
      with tf.Graph().as_default():
        dequeue = _done_queue(cluster.task, replicas).dequeue()
        with tf1.Session(server.target,
                         config=cluster.session_config()) as sess:
          while len(finished) < replicas:
            finished.add(int(sess.run(dequeue)))
            logging.info('Worker replica(s) finished: %s of %d.',
                         sorted(finished), replicas)
    except Exception as e:  # pylint: disable=broad-except
      failure.append(e)

  logging.info('Parameter server %s serving until %d worker replica(s) '
               'finish.', cluster.describe(PS, cluster.task), replicas)
  waiter = threading.Thread(target=drain, daemon=True)
  waiter.start()
  while waiter.is_alive():
    if stop_event.wait(poll_secs):
      return False
  if failure:
    raise failure[0]
  return True
