"""Helpers shared by the layers: output aliases, collections, argument checks,
and the variable / normalizer / bias / activation steps several layers share.

`collect_named_outputs` / `convert_collection_to_dict` are how networks build
their `end_points`: a layer given `outputs_collections` appends its output to
those collections, tagged with an alias (its scope name), and
`convert_collection_to_dict` turns a collection back into
`{alias: tensor}`. These are the same functions as TF-Slim's
`layers/utils.py`, so `slim.utils.convert_collection_to_dict(...)` in
network code keeps working.
"""
import collections as _collections
import numbers

import tensorflow as tf

from slim import variables

tf1 = tf.compat.v1

__all__ = [
    'append_tensor_alias', 'channel_dimension', 'collect_named_outputs',
    'constant_value', 'convert_collection_to_dict', 'gather_tensors_aliases',
    'get_tensor_aliases', 'get_variable_collections', 'last_dimension',
    'n_positive_integers', 'smart_cond', 'static_cond', 'two_element_tuple',
]


# ------------------------------------------------------------ output aliases


def append_tensor_alias(tensor, alias):
  """Appends `alias` (a trailing '/' is dropped) to `tensor.aliases`.

  Args:
    tensor: a graph tensor.
    alias: a string, usually the scope name of the layer that made `tensor`.

  Returns:
    `tensor`, with `tensor.aliases` extended.
  """
  if alias.endswith('/'):
    alias = alias[:-1]
  if hasattr(tensor, 'aliases'):
    tensor.aliases.append(alias)
  else:
    tensor.aliases = [alias]
  return tensor


def collect_named_outputs(collections, alias, outputs):
  """Adds `outputs` to `collections` under `alias`, if any collections given.

  Args:
    collections: a collection name, a list of them, or None/empty (no-op).
    alias: the alias to record on `outputs` (see `append_tensor_alias`).
    outputs: the tensor to collect.

  Returns:
    `outputs`.
  """
  if collections:
    append_tensor_alias(outputs, alias)
    if isinstance(collections, str):
      collections = [collections]
    tf1.add_to_collections(collections, outputs)
  return outputs


def get_tensor_aliases(tensor):
  """The aliases of `tensor`, or its op name (or tensor name) if it has none."""
  if hasattr(tensor, 'aliases'):
    return tensor.aliases
  if tensor.name.endswith(':0'):
    return [tensor.op.name]
  return [tensor.name]


def gather_tensors_aliases(tensors):
  """The aliases of every tensor in `tensors`, in order, as one list."""
  aliases = []
  for tensor in tensors:
    aliases += get_tensor_aliases(tensor)
  return aliases


def convert_collection_to_dict(collection, clear_collection=False):
  """Builds `{alias: tensor}` from the tensors in graph collection `collection`.

  Args:
    collection: the name of a graph collection filled by
      `collect_named_outputs` (a layer's `outputs_collections`).
    clear_collection: whether to empty the collection afterwards.

  Returns:
    An OrderedDict from alias to tensor, in collection order.
  """
  output = _collections.OrderedDict(
      (alias, tensor)
      for tensor in tf1.get_collection(collection)
      for alias in get_tensor_aliases(tensor))
  if clear_collection:
    tf1.get_default_graph().clear_collection(collection)
  return output


def get_variable_collections(variables_collections, name):
  """The collections for the variable role `name` (e.g. 'weights').

  Args:
    variables_collections: None, a list of collection names (for every
      variable of the layer), or a dict from role name to collections.
    name: the role of the variable: 'weights', 'biases', 'beta', ...

  Returns:
    The collections for that role, or None.
  """
  if isinstance(variables_collections, dict):
    return variables_collections.get(name, None)
  return variables_collections


# --------------------------------------------- variables and the layer tail


def layer_variable(name, shape, dtype, initializer, regularizer,
                   variables_collections, role, trainable):
  """A model variable of a layer, in the collections given for `role`.

  Args:
    name: the variable's name inside the layer's scope ('weights', ...).
    shape: its shape.
    dtype: its dtype.
    initializer: its initializer.
    regularizer: optional regularizer.
    variables_collections: the layer's `variables_collections` argument (see
      `get_variable_collections`).
    role: the key of `variables_collections` for this variable.
    trainable: whether it is trainable.

  Returns:
    The variable, made through `slim.variables.model_variable`.
  """
  return variables.model_variable(
      name, shape=shape, dtype=dtype, initializer=initializer,
      regularizer=regularizer, trainable=trainable,
      collections=get_variable_collections(variables_collections, role))


def finish_layer(outputs, num_outputs, dtype, data_format, activation_fn,
                 normalizer_fn, normalizer_params, biases_initializer,
                 biases_regularizer, variables_collections, trainable):
  """Normalizer or `biases`, then activation: the tail of conv and fc layers.

  With a `normalizer_fn` no biases are made (the normalizer has its own
  offset); otherwise `biases` of shape `[num_outputs]` are added unless
  `biases_initializer` is None. `data_format` starting with 'NC' puts the
  channels on axis 1; None or anything else means channels last.

  Returns:
    The output tensor.
  """
  if normalizer_fn is not None:
    outputs = normalizer_fn(outputs, **(normalizer_params or {}))
  elif biases_initializer is not None:
    biases = layer_variable('biases', [num_outputs], dtype, biases_initializer,
                            biases_regularizer, variables_collections,
                            'biases', trainable)
    outputs = tf.nn.bias_add(
        outputs, biases,
        data_format='NC...' if (data_format or '').startswith('NC') else None)
  if activation_fn is not None:
    outputs = activation_fn(outputs)
  return outputs


# ------------------------------------------------------- static conditionals


def constant_value(value_or_tensor_or_var, dtype=None):
  """The Python value of a constant, a Python value, or None if not static.

  Args:
    value_or_tensor_or_var: a Python value, a tensor or a variable.
    dtype: optional dtype the value must have.

  Returns:
    The static value, or None for variables and non-constant tensors.

  Raises:
    ValueError: if `value_or_tensor_or_var` is None.
  """
  if value_or_tensor_or_var is None:
    raise ValueError('constant_value: value_or_tensor_or_var must not be '
                     'None; received None.')
  if isinstance(value_or_tensor_or_var, tf.Variable):
    return None
  if tf.is_tensor(value_or_tensor_or_var):
    if dtype and value_or_tensor_or_var.dtype != dtype:
      raise ValueError(
          f'constant_value: expected a tensor of dtype {dtype}, received '
          f'{value_or_tensor_or_var.dtype}.')
    return tf.get_static_value(value_or_tensor_or_var)
  return value_or_tensor_or_var


def static_cond(pred, fn1, fn2):
  """Calls `fn1()` if the Python value `pred` is true, else `fn2()`."""
  if not callable(fn1):
    raise TypeError(f'static_cond: fn1 must be callable; received {fn1!r}.')
  if not callable(fn2):
    raise TypeError(f'static_cond: fn2 must be callable; received {fn2!r}.')
  return fn1() if pred else fn2()


def smart_cond(pred, fn1, fn2, name=None):
  """`static_cond` when `pred` is static, else `tf.cond(pred, fn1, fn2)`.

  Args:
    pred: a Python bool, a scalar bool tensor or a bool variable.
    fn1: called for true.
    fn2: called for false.
    name: optional name of the `tf.cond`.

  Returns:
    What the chosen branch returns.
  """
  pred_value = constant_value(pred)
  if pred_value is not None:
    return static_cond(bool(pred_value), fn1, fn2)
  return tf.cond(pred, fn1, fn2, name=name)


# ------------------------------------------------------------ argument shape


def n_positive_integers(n, value, name='value'):
  """Turns an int or a length-`n` sequence of ints into an `n`-tuple of ints.

  Args:
    n: the wanted length.
    value: an int (repeated `n` times) or a list/tuple/TensorShape of `n`.
    name: the argument's name, for error messages.

  Returns:
    A tuple of `n` positive Python ints.

  Raises:
    TypeError: if `value` is not an int or a sequence of ints.
    ValueError: if it has the wrong length or a non-positive entry.
  """
  if isinstance(value, tf.TensorShape):
    value = value.as_list()
  if isinstance(value, numbers.Integral) and not isinstance(value, bool):
    if value <= 0:
      raise ValueError(f'{name} must be a positive integer or a list of {n} '
                       f'positive integers; received {value!r}.')
    return (int(value),) * n
  if isinstance(value, (list, tuple)):
    if len(value) != n or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool)
        for v in value):
      raise ValueError(f'{name} must be a positive integer or a list of {n} '
                       f'positive integers; received {value!r}.')
    if any(v <= 0 for v in value):
      raise ValueError(f'{name} must be a positive integer or a list of {n} '
                       f'positive integers; received {value!r}.')
    return tuple(int(v) for v in value)
  raise TypeError(f'{name} must be an int or a list of {n} ints; received '
                  f'{value!r} of type {type(value).__name__}.')


def two_element_tuple(int_or_tuple, name='value'):
  """An int `v` -> `(v, v)`; a length-2 list/tuple -> a tuple of 2 ints."""
  return n_positive_integers(2, int_or_tuple, name)


def _check_min_rank(shape, min_rank):
  """Raises ValueError unless `shape` has a known rank >= `min_rank`."""
  if shape.rank is None:
    raise ValueError('The input rank must be known; received a tensor of '
                     'unknown rank.')
  if shape.rank < min_rank:
    raise ValueError(f'The input must have rank >= {min_rank}; received '
                     f'shape {shape}.')


def last_dimension(shape, min_rank=1):
  """The static size of the last dimension of `shape`.

  Args:
    shape: a TensorShape.
    min_rank: the least rank `shape` may have.

  Returns:
    The last dimension as a Python int.

  Raises:
    ValueError: if the rank is unknown or below `min_rank`, or the last
      dimension is unknown.
  """
  _check_min_rank(shape, min_rank)
  value = tf.compat.dimension_value(shape[-1])
  if value is None:
    raise ValueError(f'The last dimension of the input must be known; '
                     f'received shape {shape}.')
  return int(value)


def channel_dimension(shape, data_format, min_rank=1):
  """The static number of channels of `shape` for `data_format`.

  Args:
    shape: a TensorShape.
    data_format: 'channels_first' / a format starting with 'NC' for channels
      first; anything else means channels last.
    min_rank: the least rank `shape` may have.

  Returns:
    The channel dimension as a Python int.

  Raises:
    ValueError: if the rank is unknown or below `min_rank`, or the channel
      dimension is unknown.
  """
  _check_min_rank(shape, min_rank)
  channels_first = (data_format == 'channels_first' or
                    (data_format or '').startswith('NC'))
  value = tf.compat.dimension_value(shape[1] if channels_first else shape[-1])
  if value is None:
    raise ValueError(f'The channel dimension of the input must be known; '
                     f'received shape {shape} with data_format '
                     f'{data_format!r}.')
  return int(value)


# ------------------------------------------------- checks used by the layers


def check_positive_int(value, name, layer):
  """Raises ValueError naming `layer` and `name` unless `value` is an int > 0.

  Returns:
    `value` as a Python int.
  """
  if isinstance(value, bool) or not isinstance(value, numbers.Integral) or (
      value <= 0):
    raise ValueError(f'{layer}: {name} must be a positive int; received '
                     f'{value!r}.')
  return int(value)


def normalize_padding(padding, valid=('SAME', 'VALID')):
  """'same'/'SAME' -> 'SAME'; raises ValueError naming `padding` otherwise."""
  if isinstance(padding, str) and padding.upper() in valid:
    return padding.upper()
  raise ValueError(f'padding must be one of {list(valid)} (any case); '
                   f'received {padding!r}.')


def check_data_format(data_format, valid):
  """Raises ValueError naming `data_format` unless it is one of `valid`."""
  if data_format not in valid:
    raise ValueError(f'data_format must be one of {list(valid)}; received '
                     f'{data_format!r}.')
  return data_format


def check_rank(inputs, ranks, layer, argument='inputs'):
  """Raises ValueError unless the static rank of `inputs` is in `ranks`.

  Args:
    inputs: a tensor.
    ranks: the accepted ranks.
    layer: the layer's name, for the message.
    argument: the argument's name, for the message.

  Returns:
    The rank, a Python int.

  Raises:
    ValueError: if the rank is unknown or not in `ranks`.
  """
  rank = inputs.shape.rank
  if rank is None or rank not in ranks:
    shown = 'unknown rank' if rank is None else (
        f'rank {rank} (shape {inputs.shape})')
    wanted = ' or '.join(str(r) for r in ranks)
    raise ValueError(f'{layer}: {argument} must have rank {wanted}; received '
                     f'a tensor of {shown}.')
  return rank
