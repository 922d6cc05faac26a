"""slim.variables: creation, collections, lookup, restore from checkpoints."""
import os

import numpy as np
import pytest
import tensorflow as tf

import slim

tf1 = tf.compat.v1


def test_variable_and_model_variable_collections():
  with tf.Graph().as_default():
    weights = slim.variable('weights', shape=[10, 10, 3, 3],
                            initializer=tf1.truncated_normal_initializer(
                                stddev=0.1),
                            regularizer=slim.l2_regularizer(0.05),
                            device='/CPU:0')
    model_var = slim.model_variable('mv', shape=[2])
    local = slim.local_variable(tf.zeros([3]), name='local')
    assert weights.op.name == 'weights'
    assert weights.device.endswith('CPU:0')
    assert slim.get_model_variables() == [model_var]
    assert weights in slim.get_variables()
    assert slim.get_local_variables() == [local]
    assert local not in tf1.global_variables()
    assert len(tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)) == 1
    my_var = tf1.Variable(tf.zeros([1]), name='my_var')
    slim.add_model_variable(my_var)
    slim.add_model_variable(my_var)
    assert slim.get_model_variables() == [model_var, my_var]


def test_arg_scope_sets_device_and_collections():
  with tf.Graph().as_default():
    with slim.arg_scope([slim.variable, slim.model_variable],
                        device='/CPU:0'):
      v = slim.model_variable('v', shape=[1])
    assert v.device.endswith('CPU:0')
    w = slim.model_variable('w', shape=[1], collections=['mine'])
    assert tf1.get_collection('mine') == [w]


def test_lookup_by_scope_suffix_and_name():
  with tf.Graph().as_default():
    with tf1.variable_scope('conv1'):
      w1 = slim.model_variable('weights', [1])
      b1 = slim.model_variable('biases', [1])
    with tf1.variable_scope('conv2'):
      w2 = slim.model_variable('weights', [1])
    assert slim.get_variables('conv1') == [w1, b1]
    assert slim.get_variables(suffix='weights') == [w1, w2]
    assert slim.get_variables_by_suffix('biases') == [b1]
    assert slim.get_variables_by_name('weights') == [w1, w2]
    assert slim.get_unique_variable('conv2/weights') is w2
    with pytest.raises(ValueError, match='conv3/weights'):
      slim.get_unique_variable('conv3/weights')
    assert slim.get_variables_to_restore(exclude=['conv1']) == [w2]
    assert slim.get_variables_to_restore(include=['conv1'],
                                         exclude=['conv1/biases']) == [w1]
    assert slim.filter_variables([w1, b1, w2], include_patterns=['weights'],
                                 exclude_patterns=['conv2']) == [w1]


def test_global_step():
  with tf.Graph().as_default():
    assert slim.get_global_step() is None
    step = slim.get_or_create_global_step()
    assert step.op.name == 'global_step'
    assert step.dtype.base_dtype == tf.int64
    assert slim.get_or_create_global_step() is step
    with pytest.raises(ValueError):
      slim.create_global_step()


def test_reference_variables_inside_resource_variables_outside():
  with tf.Graph().as_default() as graph:
    with slim.variables.reference_variables():
      weights = slim.variable('weights', shape=[2])
      with tf1.variable_scope('net'):
        model_var = slim.model_variable('mv', shape=[2])
        local = slim.local_variable(tf.zeros([3]), name='local')
        read = tf.identity(model_var, name='read_it')
      slim.variable('asked', shape=[1], use_resource=True)
    slim.variable('after', shape=[1])
    ops = {op.name: op.type for op in graph.get_operations()}
    assert slim.get_model_variables() == [model_var]
  assert [v.op.name for v in (weights, model_var, local)] == [
      'weights', 'net/mv', 'net/local']
  assert [ops[name] for name in ('weights', 'net/mv', 'net/local')] == [
      'VariableV2'] * 3
  assert read.op.name == 'net/read_it'  # Name scopes as without it.
  assert ops['asked'] == ops['after'] == 'VarHandleOp'


def test_reference_variables_restore_a_resource_checkpoint(tmp_path):
  """Checkpoints hold values by name: each kind restores the other's."""
  value = np.arange(6, dtype=np.float32).reshape([2, 3])
  with tf.Graph().as_default():
    resource = slim.model_variable('net/w', shape=[2, 3])
    with tf1.Session() as sess:
      resource.load(value, sess)
      prefix = tf1.train.Saver().save(sess, str(tmp_path / 'model.ckpt'))
  with tf.Graph().as_default():
    with slim.variables.reference_variables():
      reference = slim.model_variable('net/w', shape=[2, 3])
    assert reference.op.type == 'VariableV2'
    with tf1.Session() as sess:
      tf1.train.Saver().restore(sess, prefix)
      np.testing.assert_array_equal(sess.run(reference), value)


def test_device_chooser_round_robin():
  chooser = slim.VariableDeviceChooser(num_tasks=2)
  with tf.Graph().as_default():
    with slim.arg_scope([slim.variable], device=chooser):
      devices = [slim.variable(f'v{i}', [1]).device for i in range(3)]
  assert [('task:0' in d, 'task:1' in d) for d in devices] == [
      (True, False), (False, True), (True, False)]


def test_assign_from_values():
  with tf.Graph().as_default():
    with tf1.variable_scope('a'):
      v = slim.variable('v', [2, 2])
    assign_op, feed = slim.assign_from_values({'a/v': np.arange(4.0)})
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      sess.run(assign_op, feed)
      np.testing.assert_array_equal(sess.run(v), [[0, 1], [2, 3]])
    with pytest.raises(ValueError, match='a/w'):
      slim.assign_from_values({'a/w': np.zeros(1)})


def _save(path, values):
  """Writes a checkpoint with variables {name: value}."""
  with tf.Graph().as_default():
    variables = [slim.variable(name, initializer=tf.constant(value))
                 for name, value in values.items()]
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      return tf1.train.Saver(variables).save(sess, path)


def test_assign_from_checkpoint_fn_list_dict_and_directory(tmp_path):
  prefix = _save(str(tmp_path / 'model.ckpt'),
                 {'v1': np.float32([1, 2]), 'vgg16/conv1/weights':
                  np.float32([3])})
  with tf.Graph().as_default():
    v1 = slim.variable('v1', [2])
    w = slim.variable('conv1/weights', [1])
    fn_list = slim.assign_from_checkpoint_fn(prefix, [v1])
    fn_dict = slim.assign_from_checkpoint_fn(
        str(tmp_path), {'vgg16/conv1/weights': w})
    op, feed = slim.assign_from_checkpoint(prefix, [v1])
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      fn_list(sess)
      fn_dict(sess)
      np.testing.assert_array_equal(sess.run(v1), [1, 2])
      np.testing.assert_array_equal(sess.run(w), [3])
      sess.run(tf1.global_variables_initializer())
      sess.run(op, feed)
      np.testing.assert_array_equal(sess.run(v1), [1, 2])


def test_one_class_short_checkpoint_is_named(tmp_path):
  prefix = _save(str(tmp_path / 'model.ckpt'),
                 {'Logits/weights': np.zeros([4, 1000], np.float32),
                  'Logits/biases': np.zeros([1000], np.float32)})
  with tf.Graph().as_default():
    weights = slim.variable('Logits/weights', [4, 1001])
    biases = slim.variable('Logits/biases', [1001])
    with pytest.raises(ValueError, match=r'has 1000 classes and the model '
                       r'1001: .*--labels_offset=1'):
      slim.assign_from_checkpoint_fn(prefix, [weights, biases])
  with tf.Graph().as_default():  # two more classes: no such hint
    weights = slim.variable('Logits/weights', [4, 1002])
    with pytest.raises(ValueError) as raised:
      slim.assign_from_checkpoint_fn(prefix, [weights])
    assert 'labels_offset' not in str(raised.value)


def test_checkpoint_errors_name_the_variable(tmp_path):
  prefix = _save(str(tmp_path / 'model.ckpt'),
                 {'Logits/weights': np.zeros([4, 10], np.float32)})
  with tf.Graph().as_default():
    logits = slim.variable('Logits/weights', [4, 5])
    missing = slim.variable('Extra/weights', [1])
    with pytest.raises(ValueError, match=r'Logits/weights.*\[4, 10\].*'
                       r'checkpoint_exclude_scopes=Logits'):
      slim.assign_from_checkpoint_fn(prefix, [logits])
    with pytest.raises(ValueError, match='Extra/weights'):
      slim.assign_from_checkpoint_fn(prefix, [missing])
    assert slim.assign_from_checkpoint_fn(
        prefix, [missing], ignore_missing_vars=True) is None
    with pytest.raises(ValueError, match='not found'):
      slim.assign_from_checkpoint_fn(str(tmp_path / 'nope.ckpt'), [missing])
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='No checkpoint found'):
      slim.assign_from_checkpoint_fn(str(empty), [missing])


def test_reshape_variables(tmp_path):
  prefix = _save(str(tmp_path / 'model.ckpt'),
                 {'w': np.arange(6, dtype=np.float32).reshape(2, 3)})
  with tf.Graph().as_default():
    w = slim.variable('w', [3, 2])
    fn = slim.assign_from_checkpoint_fn(prefix, [w], reshape_variables=True)
    with tf1.Session() as sess:
      fn(sess)
      np.testing.assert_array_equal(sess.run(w).ravel(), np.arange(6))


def test_restores_v1_format_checkpoints(tmp_path):
  """The published slim checkpoints (inception_v3.ckpt, ...) are V1 files."""
  path = str(tmp_path / 'inception_v3.ckpt')
  with tf.Graph().as_default():
    v = slim.model_variable('InceptionV3/w', [3],
                            initializer=tf1.constant_initializer([1, 2, 3]))
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      tf1.train.Saver(write_version=tf1.train.SaverDef.V1).save(
          sess, path, write_meta_graph=False)
  assert os.path.isfile(path)
  with tf.Graph().as_default():
    v = slim.model_variable('InceptionV3/w', [3])
    init_fn = slim.assign_from_checkpoint_fn(path, [v])
    with tf1.Session() as sess:
      init_fn(sess)
      np.testing.assert_array_equal(sess.run(v), [1, 2, 3])
