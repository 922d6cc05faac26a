"""Deploy a slim model over several clones, replicas and parameter servers.

The API of research/slim's model_deploy: a `DeploymentConfig` says where
clones, inputs, variables and the optimizer go; `create_clones` builds the
model once per clone (variables shared, each clone in its own name scope
`clone_N`); `optimize_clones` sums each clone's losses (scaled by
1/num_clones, regularization counted once), computes gradients per clone and
sums them; `deploy` does all of it and returns a `DeployedModel`.

    config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
    with tf.device(config.variables_device()):
      global_step = slim.get_or_create_global_step()
    with tf.device(config.inputs_device()):
      images, labels = ...
    with tf.device(config.optimizer_device()):
      optimizer = tf1.train.MomentumOptimizer(0.01, 0.9)
    model = model_deploy.deploy(config, model_fn, [images, labels],
                                optimizer=optimizer)

Two changes from the original. A clone is placed on GPU:i only when a GPU
is visible: the original pinned clones to GPU:0 unless --clone_on_cpu was
passed, so training failed on machines without a GPU (fewer GPUs than
clones is an error that says so). And with parameter servers, the worker
device names the task ('/job:worker/task:1'): the original's '/job:worker'
let the placer put every worker's ops on task 0, leaving the others idle
(tensorflow/models#434, #3945).
"""
import collections

import tensorflow as tf

import slim

tf1 = tf.compat.v1

__all__ = ['create_clones', 'deploy', 'optimize_clones', 'DeployedModel',
           'DeploymentConfig', 'Clone']

# outputs: what model_fn returned; scope: the clone's name scope;
# device: the clone's device.
Clone = collections.namedtuple('Clone', ['outputs', 'scope', 'device'])

DeployedModel = collections.namedtuple(
    'DeployedModel', ['train_op', 'summary_op', 'total_loss', 'clones'])


def _num_gpus():
  return len(tf.config.list_physical_devices('GPU'))


class DeploymentConfig:
  """Where clones, inputs, variables and the optimizer are placed.

  Args:
    num_clones: model clones per replica (one per GPU, typically).
    clone_on_cpu: put the clones on the CPU even if GPUs exist.
    replica_id: index of this replica (worker task).
    num_replicas: number of worker replicas.
    num_ps_tasks: parameter-server tasks; 0 keeps variables local.
    worker_job_name: job name of the workers.
    ps_job_name: job name of the parameter servers.
    worker_task: this replica's task index in `worker_job_name`; default
      `replica_id` (they differ when a separate 'chief' job is replica 0).
    all_reduce: the replicas keep their own copy of the variables and
      average their gradients with all-reduce (deployment/all_reduce.py):
      no parameter server, every device on this task.

  Raises:
    ValueError: for inconsistent arguments (named in the message).
  """

  def __init__(self, num_clones=1, clone_on_cpu=False, replica_id=0,
               num_replicas=1, num_ps_tasks=0, worker_job_name='worker',
               ps_job_name='ps', worker_task=None, all_reduce=False):
    if num_clones < 1:
      raise ValueError(f'num_clones must be >= 1. Received: {num_clones}.')
    if num_replicas > 1 and num_ps_tasks < 1 and not all_reduce:
      raise ValueError('num_ps_tasks must be positive when num_replicas > 1. '
                       f'Received: num_ps_tasks={num_ps_tasks}.')
    if (num_replicas > 1 or num_ps_tasks > 0) and not (
        worker_job_name and ps_job_name):
      raise ValueError('worker_job_name and ps_job_name must be set when '
                       'using replicas or parameter servers.')
    if replica_id >= num_replicas:
      raise ValueError(f'replica_id ({replica_id}) must be less than '
                       f'num_replicas ({num_replicas}).')
    gpus = _num_gpus()
    if not clone_on_cpu and 0 < gpus < num_clones:
      raise ValueError(f'num_clones={num_clones} needs {num_clones} GPUs '
                       f'and this machine has {gpus}; use fewer clones, or '
                       'put them on the CPU with --clone_on_cpu.')
    self._num_clones = num_clones
    self._clone_on_cpu = clone_on_cpu
    self._replica_id = replica_id
    self._num_replicas = num_replicas
    self._num_ps_tasks = num_ps_tasks
    self._ps_device = '/job:' + ps_job_name if num_ps_tasks > 0 else ''
    if worker_task is None:
      worker_task = replica_id
    self._worker_device = (
        f'/job:{worker_job_name}/task:{worker_task}' if num_ps_tasks > 0
        else '')

  num_clones = property(lambda self: self._num_clones)
  clone_on_cpu = property(lambda self: self._clone_on_cpu)
  replica_id = property(lambda self: self._replica_id)
  num_replicas = property(lambda self: self._num_replicas)
  num_ps_tasks = property(lambda self: self._num_ps_tasks)
  ps_device = property(lambda self: self._ps_device)
  worker_device = property(lambda self: self._worker_device)

  def caching_device(self):
    """Caches variables on the reading device when they live on a ps."""
    if self._num_ps_tasks > 0:
      return lambda op: op.device
    return None

  def _check_clone_index(self, clone_index):
    if not 0 <= clone_index < self._num_clones:
      raise ValueError(f'clone_index must be in [0, {self._num_clones}). '
                       f'Received: {clone_index}.')

  def clone_device(self, clone_index):
    """The device of clone `clone_index`: GPU:i, or the CPU without GPUs."""
    self._check_clone_index(clone_index)
    device = self._worker_device
    if self._clone_on_cpu or _num_gpus() == 0:
      return device + '/device:CPU:0'
    return device + f'/device:GPU:{clone_index}'

  def clone_scope(self, clone_index):
    """'' for a single clone, else 'clone_N'."""
    self._check_clone_index(clone_index)
    return f'clone_{clone_index}' if self._num_clones > 1 else ''

  def optimizer_device(self):
    return self._worker_device + '/device:CPU:0'

  def inputs_device(self):
    return self._worker_device + '/device:CPU:0'

  def variables_device(self):
    """A device string, or a chooser spreading variables over ps tasks."""
    device = self._ps_device + '/device:CPU:0'
    if not self._num_ps_tasks:
      return device
    return _PSDeviceChooser(device, self._num_ps_tasks)


class _PSDeviceChooser:
  """Round-robin of variable ops over the ps tasks; other ops untouched."""

  _VARIABLE_OPS = ('Variable', 'VariableV2', 'VarHandleOp')

  def __init__(self, device, tasks):
    self._device = device
    self._tasks = tasks
    self._task = 0

  def __call__(self, op):
    if op.device:
      return op.device
    node_def = op if isinstance(op, tf1.NodeDef) else op.node_def
    if node_def.op in self._VARIABLE_OPS:
      task = self._task
      self._task = (self._task + 1) % self._tasks
      return tf.DeviceSpec.from_string(self._device).replace(
          task=task).to_string()
    return op.device


def create_clones(config, model_fn, args=None, kwargs=None):
  """Builds `model_fn(*args, **kwargs)` once per clone, sharing variables.

  model_fn adds its losses with slim.losses (LOSSES collection); they are
  found per clone through the clone's name scope.

  Returns:
    A list of `Clone`s.
  """
  clones = []
  args = args or []
  kwargs = kwargs or {}
  with slim.arg_scope([slim.model_variable, slim.variable],
                      device=config.variables_device()):
    for i in range(config.num_clones):
      with tf1.name_scope(config.clone_scope(i)) as clone_scope:
        clone_device = config.clone_device(i)
        with tf1.device(clone_device):
          with tf1.variable_scope(tf1.get_variable_scope(),
                                  reuse=True if i > 0 else None):
            outputs = model_fn(*args, **kwargs)
          clones.append(Clone(outputs, clone_scope, clone_device))
  return clones


def _gather_clone_loss(clone, num_clones, regularization_losses):
  """The clone's losses / num_clones, plus regularization if given."""
  clone_loss = regularization_loss = sum_loss = None
  with tf1.device(clone.device):
    all_losses = []
    clone_losses = tf1.get_collection(tf1.GraphKeys.LOSSES, clone.scope)
    if clone_losses:
      clone_loss = tf.add_n(clone_losses, name='clone_loss')
      if num_clones > 1:
        clone_loss = tf.divide(clone_loss, 1.0 * num_clones,
                               name='scaled_clone_loss')
      all_losses.append(clone_loss)
    if regularization_losses:
      regularization_loss = tf.add_n(regularization_losses,
                                     name='regularization_loss')
      all_losses.append(regularization_loss)
    if all_losses:
      sum_loss = tf.add_n(all_losses)
  if clone_loss is not None:
    tf1.summary.scalar(
        '/'.join(filter(None, ['Losses', clone.scope, 'clone_loss'])),
        clone_loss)
  if regularization_loss is not None:
    tf1.summary.scalar('Losses/regularization_loss', regularization_loss)
  return sum_loss


def _sum_clones_gradients(clone_grads):
  """Sums the gradients of each variable over clones; drops None ones."""
  sum_grads = []
  for grads_and_vars in zip(*clone_grads):
    var = grads_and_vars[0][1]
    grads = [g for g, _ in grads_and_vars if g is not None]
    if not grads:
      continue
    if len(grads) > 1:
      sum_grads.append((tf.add_n(grads, name=var.op.name + '/sum_grads'),
                        var))
    else:
      sum_grads.append((grads[0], var))
  return sum_grads


def _clone_losses(clones, regularization_losses):
  """[(clone, its loss)] for clones with losses; regularization counted on
  the first clone only."""
  losses = []
  for clone in clones:
    with tf1.name_scope(clone.scope):
      clone_loss = _gather_clone_loss(clone, len(clones),
                                      regularization_losses)
    if clone_loss is not None:
      losses.append((clone, clone_loss))
    regularization_losses = None
  return losses


def optimize_clones(clones, optimizer, regularization_losses=None, **kwargs):
  """Total loss over clones and gradients summed over clones.

  Args:
    clones: from `create_clones`.
    optimizer: a tf.compat.v1 optimizer.
    regularization_losses: default the REGULARIZATION_LOSSES collection;
      added to the first clone's loss only.
    **kwargs: passed to optimizer.compute_gradients (e.g. var_list).

  Returns:
    (total_loss, grads_and_vars).

  Raises:
    ValueError: if the model added no losses.
  """
  if regularization_losses is None:
    regularization_losses = tf1.get_collection(
        tf1.GraphKeys.REGULARIZATION_LOSSES)
  losses = _clone_losses(clones, regularization_losses)
  if not losses:
    raise ValueError('optimize_clones: the model added no losses (use '
                     'slim.losses inside model_fn).')
  grads_and_vars = []
  for clone, clone_loss in losses:
    with tf1.name_scope(clone.scope), tf1.device(clone.device):
      grads_and_vars.append(optimizer.compute_gradients(clone_loss, **kwargs))
  total_loss = tf.add_n([loss for _, loss in losses], name='total_loss')
  return total_loss, _sum_clones_gradients(grads_and_vars)


def deploy(config, model_fn, args=None, kwargs=None, optimizer=None,
           summarize_gradients=False):
  """Creates clones and, with an optimizer, the train op.

  Returns:
    A `DeployedModel`; train_op is None without an optimizer. The train op
    runs the first clone's update ops (batch-norm statistics) and returns
    the total loss.
  """
  summaries = set(tf1.get_collection(tf1.GraphKeys.SUMMARIES))
  clones = create_clones(config, model_fn, args, kwargs)
  first_clone = clones[0]
  update_ops = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS, first_clone.scope)
  train_op = total_loss = None
  with tf1.device(config.optimizer_device()):
    if optimizer is not None:
      global_step = slim.get_or_create_global_step()
      total_loss, clones_gradients = optimize_clones(clones, optimizer)
      if clones_gradients:
        if summarize_gradients:
          summaries |= set(slim.learning.add_gradients_summaries(
              clones_gradients))
        grad_updates = optimizer.apply_gradients(clones_gradients,
                                                 global_step=global_step)
        update_ops.append(grad_updates)
        with tf.control_dependencies([tf.group(*update_ops)]):
          train_op = tf.identity(total_loss, name='train_op')
    else:
      losses = _clone_losses(clones, tf1.get_collection(
          tf1.GraphKeys.REGULARIZATION_LOSSES))
      if losses:
        total_loss = tf.add_n([loss for _, loss in losses], name='total_loss')
    summaries |= set(tf1.get_collection(tf1.GraphKeys.SUMMARIES,
                                        first_clone.scope))
    if total_loss is not None:
      summaries.add(tf1.summary.scalar('total_loss', total_loss))
    summary_op = tf1.summary.merge(list(summaries), name='summary_op') \
        if summaries else None
  return DeployedModel(train_op, summary_op, total_loss, clones)
