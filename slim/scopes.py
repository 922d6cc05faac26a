"""arg_scope: default arguments for a set of ops, scoped by a `with` block.

    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        activation_fn=tf.nn.relu,
                        weights_regularizer=slim.l2_regularizer(0.0005)):
      net = slim.conv2d(inputs, 64, [11, 11], 4, padding='VALID', scope='conv1')

Only functions decorated with `add_arg_scope` take defaults from a scope.
Arguments passed explicitly always win, whether passed by keyword or by
position: the old TF-Slim raised "got multiple values for argument 'stride'"
when a scope set `stride` and a call passed it positionally; here the
positional value is used.
"""
import contextlib
import functools
import inspect

__all__ = [
    'arg_scope', 'add_arg_scope', 'current_arg_scope', 'has_arg_scope',
    'arg_scoped_arguments', 'arg_scope_func_key',
]

# Stack of dicts {func_key: {arg_name: value}}; the top is the current scope.
_ARG_STACK = [{}]


def arg_scope_func_key(op):
  """The key under which `op`'s defaults are stored in a scope."""
  return getattr(op, '_key_op', None) or (op.__module__, op.__name__)


def current_arg_scope():
  """Returns the innermost scope as a dict {func_key: {arg: value}}."""
  return _ARG_STACK[-1]


def has_arg_scope(func):
  """Whether `func` was decorated with `add_arg_scope`."""
  return getattr(func, '_is_arg_scoped', False)


def arg_scoped_arguments(func):
  """Names of the arguments of `func` that a scope may set."""
  if not has_arg_scope(func):
    raise ValueError(f'{_op_name(func)} is not decorated with @add_arg_scope.')
  return list(func._arg_names)


def _op_name(op):
  return getattr(op, '__name__', repr(op))


@contextlib.contextmanager
def arg_scope(list_ops_or_scope, **kwargs):
  """Stores default `kwargs` for the ops in `list_ops_or_scope`.

  Args:
    list_ops_or_scope: a list or tuple of `add_arg_scope`-decorated ops whose
      defaults to set, or a scope dict (as yielded by an earlier `arg_scope`)
      to re-enter, in which case `kwargs` must be empty.
    **kwargs: default argument values for those ops.

  Yields:
    The current scope dict, which can be saved and re-entered later.

  Raises:
    ValueError: if a scope dict is given together with kwargs, or an op was
      not decorated with `add_arg_scope`.
    TypeError: if `list_ops_or_scope` is neither a list/tuple nor a dict.
  """
  if isinstance(list_ops_or_scope, dict):
    if kwargs:
      raise ValueError('arg_scope: when re-entering a saved scope dict, no '
                       f'kwargs may be given. Received: {sorted(kwargs)}.')
    _ARG_STACK.append(list_ops_or_scope)
    try:
      yield list_ops_or_scope
    finally:
      _ARG_STACK.pop()
    return
  if not isinstance(list_ops_or_scope, (list, tuple)):
    raise TypeError('arg_scope: list_ops_or_scope must be a list or tuple of '
                    'ops, or a scope dict. Received: '
                    f'{type(list_ops_or_scope).__name__}.')
  scope = {key: dict(args) for key, args in current_arg_scope().items()}
  for op in list_ops_or_scope:
    if not has_arg_scope(op):
      raise ValueError(
          f'arg_scope: {_op_name(op)} is not decorated with @add_arg_scope, so '
          'a scope cannot set its arguments. Decorate it with '
          'slim.add_arg_scope or remove it from the list.')
    scope.setdefault(arg_scope_func_key(op), {}).update(kwargs)
  _ARG_STACK.append(scope)
  try:
    yield scope
  finally:
    _ARG_STACK.pop()


def add_arg_scope(func):
  """Decorates `func` so that enclosing `arg_scope`s can set its arguments."""
  signature = inspect.signature(func)
  parameters = list(signature.parameters.values())
  positional_names = [
      p.name for p in parameters
      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

  @functools.wraps(func)
  def func_with_args(*args, **kwargs):
    scoped = current_arg_scope().get(arg_scope_func_key(func_with_args))
    if scoped:
      # Explicit arguments win: drop scope values for parameters that were
      # passed by position or by keyword.
      passed = set(positional_names[:len(args)])
      merged = {k: v for k, v in scoped.items() if k not in passed}
      merged.update(kwargs)
      kwargs = merged
    return func(*args, **kwargs)

  func_with_args._is_arg_scoped = True
  func_with_args._key_op = arg_scope_func_key(func)
  func_with_args._arg_names = [p.name for p in parameters
                               if p.kind not in (p.VAR_POSITIONAL,
                                                 p.VAR_KEYWORD)]
  return func_with_args
