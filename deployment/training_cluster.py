"""A training process's part in a cluster, from its flags to its exit.

`cluster.py` describes a parameter-server / worker cluster and the pieces
of its runtime (servers, probes, the "finished" queues). This module holds
what a training process does with them, so the training script only turns
its flags into a `DeploymentRequest` and calls:

    deployment = resolve(request)  # in-process, --master, or a task
    if deployment.is_parameter_server:
      finished = serve_parameters(deployment, stop)  # until done or stopped
      exit_parameter_server(0 if finished else 128 + signal)
    deployment = start_worker(deployment)  # its server up, the ps reachable
    with watching_parameter_servers(deployment, on_lost):
      ... train ...
    signal_done_if_finished(deployment, global_step, done_ops, step_limit)
    log_variables_checksum(deployment, variables)  # all-reduce workers
    failure_message(deployment, error)  # a lost task or chief, as one line

A cluster of several workers and no parameter server trains with
all-reduce (deployment/all_reduce.py): its Deployment carries the
`collective` group, the server and sessions name the group leader, a
worker waits for the other workers (not for parameter servers) at
start-up, and a step that loses one ends with the line naming it.

It imports no flags and no `image_classifier` (deployment/ sits below it):
user errors are ValueErrors whose message is the one line to show, and
the caller installs the signal handlers that set a parameter server's
stop event.
"""
import contextlib
import dataclasses
import os
import sys

from absl import logging
import tensorflow as tf

from deployment import all_reduce
from deployment import cluster as cluster_lib
from deployment import model_deploy

tf1 = tf.compat.v1

__all__ = ['DeploymentRequest', 'Deployment', 'CLUSTER_DECIDES', 'resolve',
           'start_worker', 'watching_parameter_servers', 'stall_reporter',
           'signal_done_if_finished', 'log_variables_checksum',
           'failure_message', 'serve_parameters', 'exit_parameter_server']

# The flags a cluster decides, with their defaults: a value other than the
# default must agree with the cluster.
CLUSTER_DECIDES = {'worker_replicas': 1, 'num_ps_tasks': 0}


@dataclasses.dataclass(frozen=True)
class DeploymentRequest:
  """Where the user asked this process to train, as the flags say it.

  Attributes:
    master: --master ('' in-process, or grpc://... of a server the user
      started).
    worker_replicas, num_ps_tasks, task: the replica flags.
    ps_hosts, worker_hosts, job_name: the cluster flags ('', '', None when
      not given).
    tf_config: the TF_CONFIG environment variable, read when no host flag
      is given (None: unset).
    given: names of the flags of CLUSTER_DECIDES given on the command line;
      None treats a non-default value as given.
    startup_timeout_secs: --cluster_startup_timeout_secs.
    all_reduce_timeout_secs: --all_reduce_timeout_secs.
  """
  master: str = ''
  worker_replicas: int = 1
  num_ps_tasks: int = 0
  task: int = 0
  ps_hosts: str = ''
  worker_hosts: str = ''
  job_name: str | None = None
  tf_config: str | None = None
  given: frozenset | None = None
  startup_timeout_secs: float = 300
  all_reduce_timeout_secs: float = 600


@dataclasses.dataclass(frozen=True)
class Deployment:
  """Where this process trains: in-process, on --master, or in a cluster.

  Attributes:
    cluster: a cluster.Cluster, or None without one.
    master: the session target ('' in-process; a cluster's is set once its
      server runs).
    num_replicas, num_ps_tasks, replica_id: as model_deploy takes them.
    startup_timeout_secs: how long to wait for the parameter servers and,
      on the other workers, for the chief to initialize the model.
    server: this worker's running tf1.train.Server once `start_worker`
      started it (held here so that it lives as long as the run).
    collective: the all_reduce.CollectiveGroup of an all-reduce worker,
      else None.
  """
  cluster: object
  master: str
  num_replicas: int
  num_ps_tasks: int
  replica_id: int
  startup_timeout_secs: float = 300
  server: object = dataclasses.field(default=None, compare=False, repr=False)
  collective: object = None

  @property
  def is_chief(self):
    return self.replica_id == 0

  @property
  def is_parameter_server(self):
    return self.cluster is not None and self.cluster.is_ps

  @property
  def distributed(self):
    return self.num_replicas > 1 or self.num_ps_tasks > 0

  @property
  def ready_wait_secs(self):
    """How long a worker waits for the chief's model (None: not at all)."""
    return self.startup_timeout_secs if self.distributed else None

  def config(self, num_clones, clone_on_cpu):
    """The model_deploy.DeploymentConfig of this process.

    Raises:
      ValueError: when this machine cannot hold `num_clones` clones.
    """
    placement = {}
    if self.cluster is not None:
      placement = dict(worker_job_name=self.cluster.job_name,
                       worker_task=self.cluster.task)
    if self.collective is not None:
      placement['all_reduce'] = True
    return model_deploy.DeploymentConfig(
        num_clones=num_clones, clone_on_cpu=clone_on_cpu,
        replica_id=self.replica_id, num_replicas=self.num_replicas,
        num_ps_tasks=self.num_ps_tasks, **placement)

  def session_config(self):
    """The session's base ConfigProto (soft placement; a cluster task sees
    only the parameter servers and itself; all-reduce workers name their
    group leader); the caller adds threads/XLA."""
    if self.cluster is None:
      return tf1.ConfigProto(allow_soft_placement=True)
    config = self.cluster.session_config(allow_soft_placement=True)
    if self.collective is not None:
      all_reduce.session_config(config, self.collective)
    return config

  @property
  def peer_jobs(self):
    """The jobs whose tasks this worker needs while it trains: the
    parameter servers, or the other workers of an all-reduce group."""
    if self.collective is not None:
      return [job for job in (cluster_lib.CHIEF, cluster_lib.WORKER)
              if job in self.cluster.jobs]
    return [cluster_lib.PS]


def _without_cluster(request):
  """The Deployment of a request that names no cluster."""
  if (request.worker_replicas > 1 or request.num_ps_tasks > 0
      or request.task != 0) and not request.master:
    raise ValueError('--worker_replicas, --num_ps_tasks and --task describe '
                     'a cluster: give --ps_hosts, --worker_hosts and '
                     '--job_name (or set TF_CONFIG), or --master=grpc://... '
                     'of a server you started.')
  if not 0 <= request.task < request.worker_replicas:
    raise ValueError(f'--task={request.task} must be between 0 and '
                     f'--worker_replicas - 1 ({request.worker_replicas - 1}).')
  return Deployment(None, request.master, request.worker_replicas,
                    request.num_ps_tasks, request.task,
                    request.startup_timeout_secs)


def _check_agrees(request, cluster):
  """Raises ValueError for a flag that the cluster decides otherwise."""
  if request.master:
    raise ValueError(f'--master={request.master} cannot be combined with a '
                     'cluster (--ps_hosts/--worker_hosts or TF_CONFIG): this '
                     'process starts its own server.')
  actual = {'worker_replicas': cluster.num_replicas,
            'num_ps_tasks': cluster.num_ps}
  for name, default in CLUSTER_DECIDES.items():
    value = getattr(request, name)
    explicit = (name in request.given if request.given is not None
                else value != default)
    if explicit and value != actual[name]:
      raise ValueError(f'--{name}={value} disagrees with the cluster, which '
                       f'has {actual[name]}; leave it out (the cluster '
                       'decides it).')


def resolve(request):
  """The Deployment that a DeploymentRequest asks for.

  Raises:
    ValueError: for a malformed or inconsistent cluster description; the
      message is the one line to show.
  """
  cluster = cluster_lib.from_flags(request.ps_hosts, request.worker_hosts,
                                   request.job_name, request.task,
                                   request.tf_config)
  if cluster is None:
    return _without_cluster(request)
  _check_agrees(request, cluster)
  collective = all_reduce.group_of(cluster, request.all_reduce_timeout_secs,
                                   request.startup_timeout_secs)
  return Deployment(cluster, '', cluster.num_replicas, cluster.num_ps,
                    cluster.replica_id, request.startup_timeout_secs,
                    collective=collective)


def start_worker(deployment):
  """Starts a cluster worker's server and waits for the parameter servers
  (all-reduce workers: for the other workers).

  Returns:
    The Deployment whose master is the started server (unchanged without
    a cluster).

  Raises:
    ValueError: when the server cannot start on its address.
    cluster.TaskUnreachable (a ValueError): when a parameter server (or
      another all-reduce worker) did not answer within the deployment's
      startup_timeout_secs.
  """
  cluster = deployment.cluster
  if cluster is None:
    return deployment
  server = cluster_lib.start_server(
      cluster, deployment.session_config()
      if deployment.collective is not None else None)
  logging.info('Started %s (replica %d of %d%s%s).',
               cluster.describe(cluster.job_name, cluster.task),
               cluster.replica_id, cluster.num_replicas,
               ', the chief' if cluster.is_chief else '',
               ', all-reduce' if deployment.collective is not None else '')
  cluster_lib.wait_for_tasks(cluster, deployment.peer_jobs,
                             deployment.startup_timeout_secs)
  return dataclasses.replace(deployment, master=server.target, server=server)


def watching_parameter_servers(deployment, on_lost):
  """A context manager calling `on_lost(message)` when a parameter server
  is lost while training (cluster.watching); it does nothing without a
  cluster."""
  if deployment.cluster is None:
    return contextlib.nullcontext()
  return cluster_lib.watching(deployment.cluster, [cluster_lib.PS], on_lost)


def stall_reporter(deployment, every_secs):
  """A cluster.reporting_stalls for a cluster worker, or None without one."""
  if deployment.cluster is None:
    return None
  return cluster_lib.reporting_stalls(deployment.cluster, every_secs)


def signal_done_if_finished(deployment, global_step, done_ops, step_limit):
  """Tells the parameter servers this worker finished, if it did.

  A worker stopped early (a signal) has not finished: the servers keep
  waiting for it to be restarted.

  Args:
    deployment: the started Deployment.
    global_step: the training graph's global step variable.
    done_ops: the graph's cluster.done_signal_ops ([] without a cluster).
    step_limit: --max_number_of_steps (None: training never finishes).
  """
  if not done_ops or not step_limit:
    return
  with tf1.Session(deployment.master, graph=global_step.graph,
                   config=deployment.session_config()) as sess:
    if int(sess.run(global_step)) >= step_limit:
      sess.run(done_ops)


def log_variables_checksum(deployment, variables):
  """Logs all_reduce.CHECKSUM_LINE for an all-reduce worker's `variables`
  (the workers end with equal lines); nothing for other deployments.

  Run it once training ended: the variables live on this task's server.
  """
  if deployment.collective is None or not variables:
    return
  graph = variables[0].graph
  with tf1.Session(deployment.master, graph=graph,
                   config=deployment.session_config()) as sess:
    step = tf1.train.get_global_step(graph)
    logging.info(all_reduce.CHECKSUM_LINE, int(sess.run(step)),
                 all_reduce.variables_checksum(sess, variables))


def _first_line(error):
  detail = (error.message or '').strip().splitlines()
  return detail[0] if detail else type(error).__name__


def _lost_contact_message(deployment, error):
  """The line for a lost task: the watchdog's line when a parameter server
  (or another all-reduce worker) is gone, else the error's first line and
  what to do."""
  cluster = deployment.cluster
  lost = cluster and cluster_lib.unreachable_task(cluster,
                                                  deployment.peer_jobs)
  if lost:
    return cluster_lib.lost_task_message(cluster, *lost)
  if cluster is None:
    return (f'Lost contact with the master {deployment.master} '
            f'({_first_line(error)}).')
  return (f'Lost contact with the cluster during training '
          f'({_first_line(error)}). Restart the stopped task (or the whole '
          'cluster) with the same commands; training resumes from the last '
          'checkpoint in --train_dir.')


def failure_message(deployment, error):
  """The one line for a training run that the cluster ended, or None.

  Args:
    deployment: the Deployment that trained.
    error: a tf.errors.OpError that ended training.

  Returns:
    The line to show for a deadline passed waiting for the chief, or a
    task (or the master) lost; None for a run that is not distributed, or
    another error: a bug, to raise again.
  """
  if not deployment.distributed:
    return None
  if deployment.collective is not None:
    return _all_reduce_failure_message(deployment, error)
  if isinstance(error, tf.errors.DeadlineExceededError):
    return f'{error.message} Is the chief (replica 0) running?'
  if isinstance(error, (tf.errors.UnavailableError, tf.errors.AbortedError)):
    return _lost_contact_message(deployment, error)
  return None


def _all_reduce_failure_message(deployment, error):
  """The line for an all-reduce step that failed: the lost worker's, or
  the step that waited past its timeout for workers that all answer."""
  if not isinstance(error, (tf.errors.DeadlineExceededError,
                            tf.errors.UnavailableError,
                            tf.errors.AbortedError)):
    return None
  cluster = deployment.cluster
  lost = cluster_lib.unreachable_task(cluster, deployment.peer_jobs)
  if lost:
    return cluster_lib.lost_task_message(cluster, *lost)
  if isinstance(error, tf.errors.DeadlineExceededError) and (
      'all_reduce_broadcast' in (error.message or '')):
    return (f'The start-up broadcast of the chief\'s variables waited more '
            f'than {deployment.collective.startup_timeout_secs:g} s '
            '(--cluster_startup_timeout_secs) for the other workers, which '
            'all answer: start every worker with the same flags.')
  if isinstance(error, tf.errors.DeadlineExceededError):
    return (f'An all-reduce step waited more than '
            f'{deployment.collective.timeout_secs:g} s '
            '(--all_reduce_timeout_secs) for the other workers, which all '
            'answer: one is stuck, or slower than the timeout allows '
            '(the chief validates and saves checkpoints between steps). '
            'Restart the workers with the same commands (a larger timeout if '
            'needed); training resumes from the last checkpoint in '
            '--train_dir.')
  return _lost_contact_message(deployment, error)


def serve_parameters(deployment, stop):
  """A parameter server's life: serve until every worker has finished.

  Args:
    deployment: a Deployment whose cluster task is a parameter server.
    stop: a threading.Event; once set (by the caller's signal handler),
      serving stops.

  Returns:
    True once every worker has finished, False when `stop` ended it.

  Raises:
    ValueError: when the server cannot start on its address.
  """
  cluster = deployment.cluster
  server = cluster_lib.start_server(cluster)
  if not cluster_lib.serve_until_workers_finish(cluster, server, stop):
    return False
  logging.info('Every worker finished; %s exits.',
               cluster.describe(cluster.job_name, cluster.task))
  return True


def exit_parameter_server(status):
  """Ends a parameter server's process with `status`.

  Stopped (nonzero), its queue-draining thread is still inside a session
  call: tearing the interpreter down under it can abort (SIGABRT), so the
  process ends without the teardown, its logs and streams flushed first.
  """
  if not status:
    sys.exit(status)
  logging.flush()
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)  # pylint: disable=protected-access
