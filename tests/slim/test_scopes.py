"""arg_scope: defaults, nesting, overrides (keyword and positional), errors."""
import pytest

import slim


@slim.add_arg_scope
def op(inputs, num_outputs, kernel=1, stride=1, padding='SAME', scope=None):
  return dict(inputs=inputs, num_outputs=num_outputs, kernel=kernel,
              stride=stride, padding=padding, scope=scope)


@slim.add_arg_scope
def other(x, padding='VALID'):
  return padding


def plain(x, padding='VALID'):
  return padding


def test_scope_sets_defaults_and_explicit_keyword_wins():
  with slim.arg_scope([op], padding='VALID', stride=2):
    assert op(1, 2)['padding'] == 'VALID'
    assert op(1, 2)['stride'] == 2
    assert op(1, 2, padding='SAME')['padding'] == 'SAME'
  assert op(1, 2)['padding'] == 'SAME'


def test_positional_argument_overrides_scope():
  # The TF-Slim README: conv2d(inputs, 64, [11, 11], 4, ...) inside a scope
  # that sets stride=1 must use stride 4.
  with slim.arg_scope([op], stride=1):
    assert op('x', 64, [11, 11], 4)['stride'] == 4
    assert op('x', 64, [11, 11])['stride'] == 1


def test_nested_scopes_merge_and_inner_wins():
  with slim.arg_scope([op, other], padding='VALID'):
    with slim.arg_scope([op], stride=3):
      assert op(1, 2)['padding'] == 'VALID'
      assert op(1, 2)['stride'] == 3
      assert other(1) == 'VALID'
    with slim.arg_scope([other], padding='SAME'):
      assert other(1) == 'SAME'
      assert op(1, 2)['padding'] == 'VALID'
    assert op(1, 2)['stride'] == 1


def test_reenter_saved_scope():
  with slim.arg_scope([op], stride=5) as saved:
    pass
  assert op(1, 2)['stride'] == 1
  with slim.arg_scope(saved):
    assert op(1, 2)['stride'] == 5
  assert slim.current_arg_scope() == {}


def test_reenter_with_kwargs_is_an_error():
  with slim.arg_scope([op], stride=5) as saved:
    pass
  with pytest.raises(ValueError, match='kwargs'):
    with slim.arg_scope(saved, stride=2):
      pass


def test_undecorated_function_is_a_clear_error():
  with pytest.raises(ValueError, match='plain is not decorated'):
    with slim.arg_scope([plain], padding='SAME'):
      pass


def test_introspection():
  assert slim.has_arg_scope(op)
  assert not slim.has_arg_scope(plain)
  assert slim.arg_scoped_arguments(op) == [
      'inputs', 'num_outputs', 'kernel', 'stride', 'padding', 'scope']
  with pytest.raises(ValueError):
    slim.arg_scoped_arguments(plain)
  with pytest.raises(TypeError):
    with slim.arg_scope('op'):
      pass


def test_scope_survives_exceptions():
  with pytest.raises(RuntimeError):
    with slim.arg_scope([op], stride=7):
      raise RuntimeError('boom')
  assert op(1, 2)['stride'] == 1
