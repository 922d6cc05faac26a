"""Variables: creation, lookup, and restoring from checkpoints.

This module is the one place in the project that creates variables: layers,
metrics, nets and scripts call `variable`, `model_variable`,
`local_variable` or `global_variable`. That keeps placement (`device`),
collections and regularization in one seam where another execution mode
could plug in later.

Model variables (weights, biases, batch-norm statistics) live in the
`MODEL_VARIABLES` collection as well as `GLOBAL_VARIABLES`; they are what a
checkpoint of a network holds and what fine-tuning restores.
"""
import contextlib
import functools
import os
import re

import numpy as np
import tensorflow as tf

from slim import precision_scope
from slim.scopes import add_arg_scope

tf1 = tf.compat.v1

__all__ = [
    'add_model_variable', 'assert_global_step', 'assert_or_get_global_step',
    'assign_from_checkpoint', 'assign_from_checkpoint_fn',
    'assign_from_values', 'assign_from_values_fn', 'check_checkpoint_readable',
    'checkpoint_fit_problems',
    'create_global_step',
    'filter_variables', 'get_global_step', 'get_or_create_global_step',
    'get_local_variables', 'get_model_variables', 'get_trainable_variables',
    'get_unique_variable', 'get_variable_full_name', 'get_variables',
    'get_variables_by_name', 'get_variables_by_suffix',
    'get_variables_to_restore', 'global_variable', 'local_variable',
    'model_variable', 'reference_variables', 'resolve_checkpoint_path',
    'variable',
    'VariableDeviceChooser', 'zero_initializer',
]

MODEL_VARIABLES = tf1.GraphKeys.MODEL_VARIABLES


# ---------------------------------------------------------------- global step

def assert_global_step(global_step_tensor):
  """Raises TypeError unless `global_step_tensor` is a scalar integer."""
  tf1.train.assert_global_step(global_step_tensor)


def assert_or_get_global_step(graph=None, global_step_tensor=None):
  """Checks `global_step_tensor` if given, else returns the graph's one."""
  if global_step_tensor is None:
    return get_global_step(graph)
  assert_global_step(global_step_tensor)
  return global_step_tensor


def get_global_step(graph=None):
  """Returns the graph's global step variable, or None."""
  return tf1.train.get_global_step(graph)


def create_global_step(graph=None):
  """Creates the int64 `global_step` variable in `graph`.

  Raises:
    ValueError: if the graph already has one.
  """
  graph = graph or tf1.get_default_graph()
  if get_global_step(graph) is not None:
    raise ValueError('create_global_step: the graph already has a global '
                     'step; use get_or_create_global_step.')
  with graph.as_default(), graph.name_scope(None):
    return variable(
        tf1.GraphKeys.GLOBAL_STEP, shape=[], dtype=tf.int64,
        initializer=tf1.zeros_initializer(), trainable=False,
        collections=[tf1.GraphKeys.GLOBAL_VARIABLES,
                     tf1.GraphKeys.GLOBAL_STEP])


def get_or_create_global_step(graph=None):
  """Returns the graph's global step, creating it if needed."""
  graph = graph or tf1.get_default_graph()
  global_step = get_global_step(graph)
  return global_step if global_step is not None else create_global_step(graph)


# ------------------------------------------------------------------ creation

def zero_initializer(ref, use_locking=True, name='zero_initializer'):
  """An op that sets `ref` to zeros (for variables of unknown init)."""
  return tf1.assign(ref, tf.zeros_like(ref), use_locking=use_locking,
                    name=name)


@add_arg_scope
def variable(name, shape=None, dtype=None, initializer=None, regularizer=None,
             trainable=True, collections=None, caching_device=None,
             device=None, partitioner=None, custom_getter=None,
             use_resource=None,
             synchronization=tf.VariableSynchronization.AUTO,
             aggregation=tf.VariableAggregation.NONE):
  """Gets an existing variable or creates a new one.

  Args:
    name: the variable's name inside the current variable scope.
    shape: its shape.
    dtype: its dtype (default float32).
    initializer: an initializer for the new variable.
    regularizer: fn(variable) -> scalar loss; the loss goes into
      REGULARIZATION_LOSSES.
    trainable: whether it goes into TRAINABLE_VARIABLES.
    collections: collections to add it to; default [GLOBAL_VARIABLES].
    caching_device: optional device string or function for reads.
    device: optional device string or function (see `VariableDeviceChooser`).
    partitioner: optional partitioner.
    custom_getter: optional getter, called as tf1.get_variable would be.
    use_resource: create a resource variable (None: the graph's default).
    synchronization: see tf.VariableSynchronization.
    aggregation: see tf.VariableAggregation.

  Returns:
    The variable; inside `slim.precision.compute_precision(low)`, a
    variable asked for in that low dtype is made float32 and returned read
    through a cast to `low` (mixed precision's read-time cast).
  """
  collections = list(dict.fromkeys(
      collections if collections is not None
      else [tf1.GraphKeys.GLOBAL_VARIABLES]))
  getter = tf1.get_variable
  if custom_getter is not None:
    getter = functools.partial(custom_getter,
                               reuse=tf1.get_variable_scope().reuse)
  low = precision_scope.compute_dtype()
  cast_to = None
  if low is not None and dtype is not None and tf.as_dtype(dtype) == low:
    dtype, cast_to = tf.float32, low
  with tf1.device(device or ''):
    var = getter(name, shape=shape, dtype=dtype, initializer=initializer,
                 regularizer=regularizer, trainable=trainable,
                 collections=collections, caching_device=caching_device,
                 partitioner=partitioner, use_resource=use_resource,
                 synchronization=synchronization, aggregation=aggregation)
  if cast_to is None:
    return var
  return tf.cast(var, cast_to)


@add_arg_scope
def model_variable(name, shape=None, dtype=tf.float32, initializer=None,
                   regularizer=None, trainable=True, collections=None,
                   caching_device=None, device=None, partitioner=None,
                   custom_getter=None, use_resource=None,
                   synchronization=tf.VariableSynchronization.AUTO,
                   aggregation=tf.VariableAggregation.NONE):
  """Like `variable`, and also adds it to the MODEL_VARIABLES collection."""
  collections = list(collections or [])
  collections += [tf1.GraphKeys.GLOBAL_VARIABLES, MODEL_VARIABLES]
  return variable(name, shape=shape, dtype=dtype, initializer=initializer,
                  regularizer=regularizer, trainable=trainable,
                  collections=collections, caching_device=caching_device,
                  device=device, partitioner=partitioner,
                  custom_getter=custom_getter, use_resource=use_resource,
                  synchronization=synchronization, aggregation=aggregation)


def local_variable(initial_value, validate_shape=True, name=None,
                   use_resource=None):
  """A non-trainable variable in LOCAL_VARIABLES (not checkpointed)."""
  return tf1.Variable(initial_value, trainable=False,
                      collections=[tf1.GraphKeys.LOCAL_VARIABLES],
                      validate_shape=validate_shape, name=name,
                      use_resource=use_resource)


def global_variable(initial_value, validate_shape=True, name=None,
                    use_resource=None):
  """A non-trainable variable in GLOBAL_VARIABLES (checkpointed)."""
  return tf1.Variable(initial_value, trainable=False,
                      collections=[tf1.GraphKeys.GLOBAL_VARIABLES],
                      validate_shape=validate_shape, name=name,
                      use_resource=use_resource)


@contextlib.contextmanager
def reference_variables():
  """Variables created inside are reference variables (VariableV2).

  Outside, graph-mode variables are resource variables (VarHandleOp, read
  through ReadVariableOp), TensorFlow 2's default. The graphs the original
  TF-Slim exported held reference variables, read through `<name>/read`,
  and TensorFlow's own `python -m tensorflow.python.tools.freeze_graph`
  restores a bare GraphDef's variables only if they are of that kind. A
  checkpoint stores values by name, so either kind restores a checkpoint
  written by the other.

  It sets `use_resource=False` on the current variable scope, which scopes
  opened inside inherit; names and name scopes are unchanged, and a variable
  asked for with `use_resource=True` is still a resource variable.
  """
  with tf1.variable_scope(tf1.get_variable_scope(), use_resource=False,
                          auxiliary_name_scope=False):
    yield


def add_model_variable(var):
  """Adds `var` to MODEL_VARIABLES unless it is already there."""
  if var not in tf1.get_collection(MODEL_VARIABLES):
    tf1.add_to_collection(MODEL_VARIABLES, var)


class VariableDeviceChooser:
  """Round-robin placement of variables over parameter-server tasks.

  Pass an instance as `device` of `variable`/`model_variable` (or through an
  arg_scope) to spread variables over `num_tasks` ps tasks.
  """

  def __init__(self, num_tasks=0, job_name='ps', device_type='CPU',
               device_index=0, replica=None):
    self._job_name = job_name
    self._device_type = device_type
    self._device_index = device_index
    self._replica = replica
    self._num_tasks = num_tasks
    self._next_task_id = 0

  def __call__(self, op):
    device_spec = tf.DeviceSpec(
        replica=self._replica, device_type=self._device_type,
        device_index=self._device_index)
    if self._num_tasks > 0:
      task_id = self._next_task_id
      self._next_task_id = (self._next_task_id + 1) % self._num_tasks
      device_spec = device_spec.replace(job=self._job_name, task=task_id)
    return device_spec.to_string()


# -------------------------------------------------------------------- lookup

def get_variables(scope=None, suffix=None,
                  collection=tf1.GraphKeys.GLOBAL_VARIABLES):
  """Variables of `collection` whose names start with `scope` and end with
  `suffix` (both regular expressions, as in TF-Slim)."""
  if isinstance(scope, tf1.VariableScope):
    scope = scope.name
  if suffix is not None:
    if ':' not in suffix:
      suffix += ':'
    scope = (scope or '') + '.*' + suffix
  return tf1.get_collection(collection, scope)


def get_model_variables(scope=None, suffix=None):
  """Model variables, filtered by scope and suffix."""
  return get_variables(scope, suffix, MODEL_VARIABLES)


def get_local_variables(scope=None, suffix=None):
  """Local variables, filtered by scope and suffix."""
  return get_variables(scope, suffix, tf1.GraphKeys.LOCAL_VARIABLES)


def get_trainable_variables(scope=None, suffix=None):
  """Trainable variables, filtered by scope and suffix."""
  return get_variables(scope, suffix, tf1.GraphKeys.TRAINABLE_VARIABLES)


def get_variables_to_restore(include=None, exclude=None):
  """Global variables under the `include` scopes minus the `exclude` ones."""
  if include is None:
    candidates = get_variables()
  else:
    candidates = [v for scope in include for v in get_variables(scope)]
  excluded = set()
  for scope in exclude or ():
    excluded.update(get_variables(scope))
  return [v for v in candidates if v not in excluded]


def get_variables_by_suffix(suffix, scope=None):
  """Variables whose names end with `suffix`."""
  return get_variables(scope=scope, suffix=suffix)


def get_variables_by_name(given_name, scope=None):
  """Variables whose last name component is `given_name`."""
  suffix = '/' + given_name + ':|^' + given_name + ':'
  return get_variables(scope=scope, suffix=suffix)


def get_unique_variable(var_op_name):
  """The one variable whose op name is exactly `var_op_name`.

  Raises:
    ValueError: if there is no such variable.
  """
  for candidate in get_variables(scope=re.escape(var_op_name)):
    if candidate.op.name == var_op_name:
      return candidate
  raise ValueError(f'Variable {var_op_name} does not uniquely identify a '
                   'variable.')


def get_variable_full_name(var):
  """The name a checkpoint stores `var` under (the full name of a slice)."""
  slice_info = getattr(var, '_save_slice_info', None)
  return slice_info.full_name if slice_info else var.op.name


def filter_variables(var_list, include_patterns=None, exclude_patterns=None,
                     reg_search=True):
  """Keeps the variables matching an include pattern and no exclude one.

  Args:
    var_list: the variables to filter.
    include_patterns: regular expressions; None keeps all.
    exclude_patterns: regular expressions; None excludes none.
    reg_search: use re.search (True) or re.match (False).

  Returns:
    The filtered list, in the original order.
  """
  find = re.search if reg_search else re.match

  def matches(name, patterns):
    return any(find(pattern, name) for pattern in patterns)

  return [v for v in var_list
          if (include_patterns is None or matches(v.op.name, include_patterns))
          and not (exclude_patterns and matches(v.op.name, exclude_patterns))]


# ----------------------------------------------------------------- restoring

def assign_from_values(var_names_to_values):
  """An op assigning numpy values to variables by op name, and its feed.

  Returns:
    (assign_op, feed_dict).

  Raises:
    ValueError: if a name matches no variable or several.
  """
  feed_dict = {}
  assign_ops = []
  for var_name, value in var_names_to_values.items():
    candidates = [v for v in get_variables(scope=re.escape(var_name))
                  if v.op.name == var_name]
    if len(candidates) != 1:
      raise ValueError(f'assign_from_values: variable {var_name} was not '
                       'found in the graph.')
    var = candidates[0]
    placeholder = tf1.placeholder(var.dtype.base_dtype, var.get_shape(),
                                  name='placeholder/' + var.op.name)
    assign_ops.append(var.assign(placeholder))
    feed_dict[placeholder] = np.reshape(value, var.get_shape().as_list())
  return tf.group(*assign_ops), feed_dict


def assign_from_values_fn(var_names_to_values):
  """Returns fn(session) assigning the given values (see assign_from_values)."""
  assign_op, feed_dict = assign_from_values(var_names_to_values)

  def callback(session):
    return session.run(assign_op, feed_dict)

  return callback


# The files of a checkpoint `prefix`: prefix.index, prefix.data-00000-of-00001
# (one per shard) and the optional prefix.meta.
_CHECKPOINT_FILE = re.compile(r'^(.+)\.(index|meta|data-\d{5}-of-\d{5})$')


def is_checkpoint_prefix(path):
  """Whether `path` is a checkpoint prefix (its .index exists)."""
  return bool(path) and tf.io.gfile.exists(path + '.index')


def checkpoint_reader(model_path):
  """`tf.train.load_checkpoint`, except that a checkpoint prefix is read as
  one even where its filesystem also calls it a directory: TensorFlow's
  in-memory ram:// calls every prefix of a file's name a directory, so
  load_checkpoint would look for the latest checkpoint "in" it."""
  if is_checkpoint_prefix(model_path):
    return tf1.train.NewCheckpointReader(model_path)
  return tf.train.load_checkpoint(model_path)


def resolve_checkpoint_path(model_path):
  """A checkpoint prefix from what a user may name: the prefix, one of its
  files (.index, .data-00000-of-00001, .meta) or a directory (its latest).

  Raises:
    ValueError: if no checkpoint is found there.
  """
  if (model_path and tf.io.gfile.isdir(model_path)
      and not is_checkpoint_prefix(model_path)):  # ram:// (checkpoint_reader)
    latest = tf.train.latest_checkpoint(model_path)
    if latest is None:
      raise ValueError(f'No checkpoint found in directory {model_path!r}: it '
                       'has no "checkpoint" state file or the files it names '
                       'are missing.')
    return latest
  named_file = _CHECKPOINT_FILE.match(model_path or '')
  if named_file:
    prefix = named_file.group(1)
    if not tf.io.gfile.exists(prefix + '.index'):
      raise ValueError(f'{model_path!r} is a checkpoint file, but its index '
                       f'{prefix}.index is missing: pass a complete '
                       'checkpoint (its prefix, the part before .index).')
    return prefix
  if not model_path or not tf1.train.checkpoint_exists(model_path):
    raise ValueError(f'Checkpoint {model_path!r} not found: pass a checkpoint '
                     'prefix such as /path/model.ckpt-1000 (the part before '
                     '.index) or a directory holding checkpoints.')
  return model_path


def _first_line(error):
  text = str(getattr(error, 'message', error)).strip()
  return text.splitlines()[0] if text else type(error).__name__


def check_checkpoint_readable(model_path):
  """Reads every tensor of a checkpoint, so that a truncated or corrupt file
  is reported before a session restores it (where it would fail deep in a
  restore op, or crash).

  Args:
    model_path: a checkpoint prefix.

  Raises:
    ValueError: naming the file that cannot be read (the index, or the
      data shards) and why.
  """
  try:
    reader = checkpoint_reader(model_path)
  except (tf.errors.OpError, IndexError) as e:
    raise ValueError(f'{model_path}.index is truncated or corrupt, not a '
                     f'checkpoint index ({_first_line(e)}); pass an '
                     'intact checkpoint (copy or download it again).') from e
  try:
    for name in sorted(reader.get_variable_to_shape_map()):
      reader.get_tensor(name)
  except (tf.errors.OpError, IndexError) as e:
    shards = sorted(tf.io.gfile.glob(model_path + '.data-*'))
    files = shards[0] if len(shards) == 1 else f'{model_path}.data-*'
    raise ValueError(f'{files} is truncated or corrupt ({_first_line(e)} '
                     f'reading {name}); pass an intact checkpoint (copy or '
                     'download it again).') from e


def _as_name_map(var_list):
  if isinstance(var_list, dict):
    return dict(var_list)
  name_map = {}
  for var in var_list:
    name = get_variable_full_name(var)
    if name in name_map:
      raise ValueError(f'Variable {name} appears twice in var_list.')
    name_map[name] = var
  return name_map


def _compare_with_checkpoint(model_path, var_list, reshape_variables=False):
  """Matches variables with a checkpoint's entries by name and shape.

  Returns:
    (matched, mismatched, missing): {checkpoint name: variable} of those that
    fit; 'name (checkpoint [..], graph [..])' for each shape mismatch; the
    names the checkpoint lacks.
  """
  shapes = checkpoint_reader(model_path).get_variable_to_shape_map()
  matched, mismatched, missing = {}, [], []
  for ckpt_name, var in sorted(_as_name_map(var_list).items()):
    if ckpt_name not in shapes:
      missing.append(ckpt_name)
      continue
    var_shape = var.get_shape().as_list()
    if shapes[ckpt_name] != var_shape and not (
        reshape_variables and
        np.prod(shapes[ckpt_name]) == np.prod(var_shape)):
      mismatched.append(f'{ckpt_name} (checkpoint {shapes[ckpt_name]}, '
                        f'graph {var_shape})')
      continue
    matched[ckpt_name] = var
  return matched, mismatched, missing


def _one_class_short(model_path, mismatched_names, var_list):
  """(checkpoint classes, model classes) when every mismatch is a last
  dimension one smaller in the checkpoint (a 1000-class checkpoint for a
  1001-class model: ImageNet with a background class at 0); else None."""
  shapes = checkpoint_reader(model_path).get_variable_to_shape_map()
  name_map = _as_name_map(var_list)
  counts = set()
  for name in mismatched_names:
    checkpoint_shape = shapes[name]
    graph_shape = name_map[name].get_shape().as_list()
    if (len(checkpoint_shape) != len(graph_shape) or not graph_shape
        or checkpoint_shape[:-1] != graph_shape[:-1]
        or checkpoint_shape[-1] + 1 != graph_shape[-1]):
      return None
    counts.add((checkpoint_shape[-1], graph_shape[-1]))
  return counts.pop() if len(counts) == 1 else None


def _listed(names):
  return ', '.join(names[:10]) + (' ...' if len(names) > 10 else '')


def checkpoint_fit_problems(model_path, var_list, allow_missing=False):
  """What keeps a checkpoint from restoring `var_list` exactly.

  `tf.compat.v1.train.Saver` restores resource variables without comparing
  shapes: a checkpoint of another class count loads silently and computes
  garbage, and a missing variable ends in a NotFoundError deep in a session.
  Callers check first and fail with the names.

  Args:
    model_path: a checkpoint prefix.
    var_list: variables, or a dict {name in checkpoint: variable}.
    allow_missing: only shape mismatches count (for savers that restore a
      subset of the variables).

  Returns:
    A list of problems ('shape mismatch for ...', 'N variable(s) missing:
    ...'), empty when the checkpoint fits.
  """
  _, mismatched, missing = _compare_with_checkpoint(model_path, var_list)
  problems = []
  if mismatched:
    problems.append('shape mismatch for ' + ', '.join(mismatched))
  if missing and not allow_missing:
    problems.append(f'{len(missing)} variable(s) missing: {_listed(missing)}')
  return problems


def _matching_checkpoint_vars(model_path, var_list, ignore_missing_vars,
                              reshape_variables):
  """{checkpoint name: variable} after checking names and shapes.

  Raises:
    ValueError: naming every variable missing from the checkpoint (unless
      ignored) and every shape mismatch, with a hint to exclude its scope.
  """
  model_path = resolve_checkpoint_path(model_path)
  matched, mismatched, missing = _compare_with_checkpoint(
      model_path, var_list, reshape_variables)
  if mismatched:
    names = [name.split(' ')[0] for name in mismatched]
    scopes = sorted({name.rsplit('/', 1)[0] for name in names})
    short = _one_class_short(model_path, names, var_list)
    raise ValueError(
        f'Checkpoint {model_path} does not fit the model: shape mismatch for '
        f'{", ".join(mismatched)}. '
        + (f'The checkpoint has {short[0]} classes and the model '
           f'{short[1]}: if the dataset counts a background class at 0 that '
           'the checkpoint lacks (ImageNet, 1001 labels, with a 1000-class '
           'VGG or ResNet v1 checkpoint), --labels_offset=1 makes them '
           'match; to train new classes instead, exclude their scopes '
           if short else 'To skip these, exclude their scopes ')
        + f'(e.g. --checkpoint_exclude_scopes={",".join(scopes)}).')
  if missing:
    if not ignore_missing_vars:
      raise ValueError(
          f'Checkpoint {model_path} lacks {len(missing)} variable(s) of the '
          f'model: {_listed(missing)}. Exclude their scopes or '
          'pass ignore_missing_vars=True (--ignore_missing_vars).')
    tf1.logging.warning('Variables not in checkpoint %s, left as '
                        'initialized: %s', model_path, ', '.join(missing))
  return model_path, matched


def assign_from_checkpoint(model_path, var_list, ignore_missing_vars=False):
  """An op assigning checkpoint values to `var_list`, and its feed dict.

  Args:
    model_path: checkpoint prefix, or a directory (its latest checkpoint).
    var_list: variables, or a dict {name in checkpoint: variable}.
    ignore_missing_vars: skip variables absent from the checkpoint.

  Returns:
    (assign_op, feed_dict).

  Raises:
    ValueError: as `assign_from_checkpoint_fn`.
  """
  model_path, matched = _matching_checkpoint_vars(
      model_path, var_list, ignore_missing_vars, reshape_variables=False)
  reader = checkpoint_reader(model_path)
  assign_ops, feed_dict = [], {}
  for ckpt_name, var in matched.items():
    placeholder = tf1.placeholder(var.dtype.base_dtype, var.get_shape(),
                                  name='placeholder/' + var.op.name)
    assign_ops.append(var.assign(placeholder))
    feed_dict[placeholder] = reader.get_tensor(ckpt_name)
  return tf.group(*assign_ops), feed_dict


def assign_from_checkpoint_fn(model_path, var_list, ignore_missing_vars=False,
                              reshape_variables=False):
  """Returns fn(session) restoring `var_list` from a checkpoint.

  Args:
    model_path: checkpoint prefix, or a directory (its latest checkpoint).
    var_list: variables, or a dict {name in checkpoint: variable} to restore
      under other names.
    ignore_missing_vars: skip (with a warning) variables absent from the
      checkpoint instead of failing.
    reshape_variables: restore values whose shape differs but whose size
      matches, reshaped.

  Returns:
    fn(session), or None when nothing is left to restore.

  Raises:
    ValueError: if the checkpoint is missing, a variable is missing (unless
      ignored), or a shape differs; the message names the variables.
  """
  model_path, matched = _matching_checkpoint_vars(
      model_path, var_list, ignore_missing_vars, reshape_variables)
  if not matched:
    tf1.logging.warning('No variables to restore from %s.', model_path)
    return None
  saver = tf1.train.Saver(matched, reshape=reshape_variables)

  def callback(session):
    saver.restore(session, model_path)

  return callback
