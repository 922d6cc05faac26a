"""Synchronous all-reduce workers on TensorFlow's collective ops.

A cluster with several workers and no parameter server trains this way
(the engine under MultiWorkerMirroredStrategy, in graph mode): every
worker builds the whole training graph with its variables on its own
task, and the workers keep them identical.

    start-up   the chief restores its checkpoint (or initializes, or
               fine-tunes) and broadcasts every training variable; the
               others assign what they receive (`initial_sync_op`, run as
               the session's local init op: a late worker is waited for)
    each step  every worker computes its gradients on its own batches; one
               all-reduce per dtype averages them over the workers
               (`mean_gradients`); every worker applies the same update,
               so the global step advances once on all of them; the
               statistics a step changes outside the gradients (batch-norm
               moving averages, the averages of the weights) are averaged
               after the update (`mean_in_place`)
    the end    every worker stops at the same global step; the chief alone
               writes checkpoints and summaries

The collectives run on the CPU of each task, through TensorFlow's gRPC
runtime: the servers and sessions of the group name the chief (replica 0)
as the group leader (`session_config`). Each collective op waits for its
peers at most `timeout_secs` (--all_reduce_timeout_secs; the start-up
broadcast, which waits for every worker to build its graph, the start-up
timeout instead), then fails with DeadlineExceededError: a lost worker
ends the others instead of hanging them.

`variables_checksum` digests a worker's variables, so that a run (and the
tests) can check that the workers ended with bit-identical ones: each
worker logs 'Variables checksum at global step N: <sha256>' at the end.
"""
import dataclasses
import hashlib

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1

__all__ = ['CollectiveGroup', 'group_of', 'session_config', 'mean_gradients',
           'mean_in_place', 'initial_sync_op', 'variables_checksum',
           'CHECKSUM_LINE']

# One group: every training task's CPU.
_GROUP_KEY = 1
# Instance keys, one per collective of the graph (and per dtype), the same
# on every worker: the i-th dtype of a purpose gets base + i.
_GRADIENTS_KEY = 1000
_STATISTICS_KEY = 2000
_BROADCAST_KEY = 3000

CHECKSUM_LINE = 'Variables checksum at global step %d: %s'


@dataclasses.dataclass(frozen=True)
class CollectiveGroup:
  """The all-reduce workers of a cluster, as one of them sees it.

  Attributes:
    size: the number of workers (the chief included).
    is_chief: whether this worker is replica 0, which broadcasts its
      variables at start-up.
    leader: the chief's task, '/job:chief/replica:0/task:0' (or worker).
    timeout_secs: how long a step's collective waits for the others.
    startup_timeout_secs: how long the start-up broadcast waits.
  """
  size: int
  is_chief: bool
  leader: str
  timeout_secs: float
  startup_timeout_secs: float


def group_of(cluster, timeout_secs, startup_timeout_secs):
  """The CollectiveGroup of an all-reduce cluster, or None for a cluster
  that trains otherwise (parameter servers, or a single worker).

  Args:
    cluster: a deployment.cluster.Cluster (or None).
    timeout_secs: --all_reduce_timeout_secs.
    startup_timeout_secs: --cluster_startup_timeout_secs.

  Raises:
    ValueError: for a timeout that is not positive.
  """
  if cluster is None or cluster.num_ps or cluster.num_replicas < 2:
    return None
  if not timeout_secs > 0:
    raise ValueError('--all_reduce_timeout_secs must be positive; got '
                     f'{timeout_secs:g}.')
  chief_job = 'chief' if cluster.jobs.get('chief') else 'worker'
  return CollectiveGroup(
      size=cluster.num_replicas, is_chief=cluster.is_chief,
      leader=f'/job:{chief_job}/replica:0/task:0',
      timeout_secs=float(timeout_secs),
      startup_timeout_secs=float(startup_timeout_secs))


def session_config(config, group):
  """`config` (a ConfigProto, changed in place) naming the group leader,
  which the servers and sessions of an all-reduce cluster need; returned."""
  config.experimental.collective_group_leader = group.leader
  return config


# ------------------------------------------------------------------ packing
def _by_dtype(tensors):
  """[(dtype, [indices into tensors])], dtypes in name order: the same
  grouping on every worker."""
  groups = {}
  for i, tensor in enumerate(tensors):
    groups.setdefault(tensor.dtype.base_dtype, []).append(i)
  return sorted(groups.items(), key=lambda item: item[0].name)


def _pack(tensors):
  """One flat vector of `tensors` (of one dtype)."""
  return tf.concat([tf.reshape(t, [-1]) for t in tensors], 0)


def _unpack(vector, like):
  """`vector` split back into tensors shaped as those of `like`."""
  sizes = [like_one.shape.num_elements() for like_one in like]
  return [tf.reshape(part, like_one.shape)
          for part, like_one in zip(tf.split(vector, sizes), like)]


def _mean_all(tensors, group, base_key):
  """`tensors` averaged over the group: one all-reduce per dtype."""
  means = [None] * len(tensors)
  for index, (_, members) in enumerate(_by_dtype(tensors)):
    reduced = tf.raw_ops.CollectiveReduce(
        input=_pack([tensors[i] for i in members]), group_size=group.size,
        group_key=_GROUP_KEY, instance_key=base_key + index, merge_op='Add',
        final_op='Div', subdiv_offsets=[0],
        timeout_seconds=group.timeout_secs)
    for i, mean in zip(members,
                       _unpack(reduced, [tensors[i] for i in members])):
      means[i] = mean
  return means


# -------------------------------------------------------------------- steps
def mean_gradients(grads_and_vars, group, after=None, device=''):
  """The gradients averaged over the workers, for the same update on each.

  Each worker's gradients are already the mean over its clones, so the
  result is the mean over every clone of every worker: the gradient of the
  global batch. Sparse gradients are made dense.

  Args:
    grads_and_vars: [(gradient, variable)] of this worker (None gradients
      are dropped).
    group: the CollectiveGroup.
    after: an op or tensor the all-reduce waits for (the loss check: a
      worker whose loss is not finite stops before it sends anything).
    device: where the packing and the collective run (a CPU).

  Returns:
    [(averaged gradient, variable)].
  """
  pairs = [(g, v) for g, v in grads_and_vars if g is not None]
  if not pairs:
    return []
  with tf1.name_scope('all_reduce_gradients'), tf1.device(device), \
      tf.control_dependencies([after] if after is not None else []):
    gradients = [tf.convert_to_tensor(g) for g, _ in pairs]
    means = _mean_all(gradients, group, _GRADIENTS_KEY)
  return list(zip(means, [v for _, v in pairs]))


def mean_in_place(variables, group, device=''):
  """An op averaging `variables` over the workers and assigning the mean.

  For what a step changes outside the gradients (batch-norm moving
  statistics, the averages of the weights): run after the step's updates,
  it leaves them identical on every worker. Equal to updating them with
  the mean of the workers' batch statistics, as each update is linear in
  its batch statistic and the variables were equal before.

  Returns:
    The op, or None when `variables` is empty.
  """
  if not variables:
    return None
  with tf1.name_scope('all_reduce_statistics'), tf1.device(device):
    means = _mean_all([v.read_value() for v in variables], group,
                      _STATISTICS_KEY)
    return tf.group(*[v.assign(mean, read_value=False)
                      for v, mean in zip(variables, means)])


def initial_sync_op(variables, group, device=''):
  """The op making `variables` the chief's on every worker, at start-up.

  On the chief it broadcasts them (run it once they are restored or
  initialized); on the others it assigns what the chief broadcast, which
  also initializes them. Run as the session's local init op, it runs once
  per session, after the chief's restore or initialization.

  Args:
    variables: the training variables, in the same order on every worker.
    group: the CollectiveGroup.
    device: where the collectives run (a CPU).
  """
  ops = []
  with tf1.name_scope('all_reduce_broadcast'), tf1.device(device):
    for index, (dtype, members) in enumerate(_by_dtype(variables)):
      chosen = [variables[i] for i in members]
      size = sum(v.shape.num_elements() for v in chosen)
      keys = dict(group_size=group.size, group_key=_GROUP_KEY,
                  instance_key=_BROADCAST_KEY + index, shape=[size],
                  timeout_seconds=group.startup_timeout_secs)
      if group.is_chief:
        ops.append(tf.raw_ops.CollectiveBcastSend(
            input=_pack([v.read_value() for v in chosen]), **keys).op)
        continue
      received = tf.raw_ops.CollectiveBcastRecv(T=dtype, **keys)
      ops.extend(v.assign(value, read_value=False)
                 for v, value in zip(chosen, _unpack(received, chosen)))
    return tf.group(*ops)


def variables_checksum(sess, variables):
  """The sha256 of `variables`' values (names, dtypes, bytes), in order."""
  digest = hashlib.sha256()
  for variable, value in zip(variables, sess.run(variables)):
    value = np.asarray(value)
    digest.update(f'{variable.op.name}:{value.dtype}:{value.shape}'.encode())
    digest.update(np.ascontiguousarray(value).tobytes())
  return digest.hexdigest()
