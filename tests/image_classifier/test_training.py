"""The stages of the training graph (image_classifier/training.py,
optimizer_chain.py, train_summaries.py), each built alone on a tiny graph:
LeNet on constant 28x28 batches, or on the shapes data (16 training and 8
validation images) where a stage reads records. The whole script is tested
in tests/test_train_image_classifier.py; its graphs are pinned by
tests/test_graph_fingerprints.py.
"""
import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf

import slim
from deployment import model_deploy
from image_classifier import cli
from image_classifier import optimization
from image_classifier import optimizer_chain
from image_classifier import specs
from image_classifier import train_specs
from image_classifier import train_summaries
from image_classifier import training
from image_classifier import validation as validation_lib
from nets import nets_factory
from tests import cli_harness as h

tf1 = tf.compat.v1

NUM_CLASSES = h.NUM_CLASSES
BATCH = 4
SGD = train_specs.OptimizationSpec(
    optimizer='sgd',
    optimizer_params=optimization.OptimizerParams(
        **dict.fromkeys(optimization.OptimizerParams._fields)),
    decay_type='fixed',
    schedule=optimization.ScheduleParams(
        learning_rate=0.01, end_learning_rate=0.0,
        learning_rate_decay_factor=1.0, num_epochs_per_decay=1.0,
        warmup_epochs=0))
ONE_REPLICA = train_specs.Placement(model_deploy.DeploymentConfig())


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'), train=16,
                       validation=8)


def _spec(data, train_dir, **fields):
  """A TrainingSpec of LeNet on the shapes data, SGD, batches of 4."""
  fields.setdefault('optimization', SGD)
  return train_specs.TrainingSpec(
      data=specs.DataSpec('shapes', str(data), 'train'),
      model=specs.ModelSpec('lenet', 'lenet'),
      inputs=specs.InputSpec(batch_size=BATCH, num_preprocessing_threads=1,
                             num_readers=1),
      network=train_specs.NetworkTraining(weight_decay=0.0),
      train_dir=str(train_dir), **fields)


def _constant_batches(soft_labels=False):
  images = tf.random.stateless_uniform([BATCH, 28, 28, 3], [1, 2])
  labels = tf.constant([0, 1, 2, 3])
  if soft_labels:
    labels = tf.one_hot(labels, NUM_CLASSES) * 0.5 + 0.1
  return tf.data.Dataset.from_tensors((images, labels)).repeat()


def _lenet_clones(config=None, label_smoothing=0.0, soft_labels=False):
  network_fn = nets_factory.get_network_fn('lenet', NUM_CLASSES,
                                           is_training=True)
  return training.build_clones(config or model_deploy.DeploymentConfig(),
                               _constant_batches(soft_labels), network_fn,
                               NUM_CLASSES, label_smoothing)


# ------------------------------------------------------------------ checks
@pytest.mark.parametrize('change,message', [
    (dict(optimization=train_specs.OptimizationSpec(
        'sgdd', SGD.optimizer_params, 'fixed', SGD.schedule)),
     '--optimizer: Optimizer [sgdd] was not recognized.'),
    (dict(optimization=train_specs.OptimizationSpec(
        'sgd', SGD.optimizer_params, 'linear', SGD.schedule)),
     '--learning_rate_decay_type: learning_rate_decay_type [linear]'),
    (dict(optimization=train_specs.OptimizationSpec(
        'sgd', SGD.optimizer_params, 'fixed', SGD.schedule,
        sync_replicas=True, replicas_to_aggregate=0)),
     '--replicas_to_aggregate must be at least 1; got 0.'),
    (dict(validation=train_specs.ValidationSpec(every_n_secs=-1)),
     '--validation_every_n_secs must be >= 0; received -1.'),
    (dict(validation=train_specs.ValidationSpec(keep_best_checkpoints=2)),
     '--keep_best_checkpoints ranks checkpoints by validation accuracy'),
])
def test_check_settings_names_the_flag(tmp_path, change, message):
  with pytest.raises(cli.UserError) as error:
    training.check_settings(_spec(tmp_path, tmp_path, **change))
  assert str(error.value).startswith(message)


def test_check_settings_refuses_a_video_model(tmp_path):
  spec = dataclasses.replace(_spec(tmp_path, tmp_path),
                             model=specs.ModelSpec('i3d'))
  with pytest.raises(cli.UserError, match='i3d is a video model'):
    training.check_settings(spec)


# ------------------------------------------------------------------- inputs
def test_build_inputs_batches_the_training_split(data):
  spec = _spec(data, data)
  with tf.Graph().as_default():
    result = training.build_inputs(spec.data, spec.model, spec.inputs,
                                   spec.network, seed=1)
    images, labels = tf1.data.make_one_shot_iterator(
        result.batches).get_next()
    with tf1.Session() as sess:
      # 16 examples in batches of 4, endless: a fifth batch comes.
      batches = [sess.run([images, labels]) for _ in range(5)]
  assert result.num_classes == NUM_CLASSES
  assert result.image_size == 28  # LeNet's default
  assert [b[0].shape for b in batches] == [(BATCH, 28, 28, 3)] * 5
  assert all(set(b[1]) <= set(range(NUM_CLASSES)) for b in batches)
  assert len(result.provider.data_files) == 2 and all(
      'shapes_train' in f for f in result.provider.data_files)
  assert result.bad_records.summary() is None


def _first_labels(data, replica_id):
  spec = _spec(data, data)
  with tf.Graph().as_default():
    tf1.set_random_seed(0)
    result = training.build_inputs(spec.data, spec.model, spec.inputs,
                                   spec.network, seed=7,
                                   replica_id=replica_id)
    _, labels = tf1.data.make_one_shot_iterator(result.batches).get_next()
    with tf1.Session() as sess:
      return np.concatenate([sess.run(labels) for _ in range(4)]).tolist()


def test_each_replica_shuffles_its_own_way(data):
  assert _first_labels(data, 0) == _first_labels(data, 0)
  assert _first_labels(data, 0) != _first_labels(data, 1)


# ------------------------------------------------------- clones and rewrites
def test_a_clone_has_the_network_loss_and_its_images():
  with tf.Graph().as_default():
    clones = _lenet_clones()
    losses = tf1.get_collection(tf1.GraphKeys.LOSSES)
  assert len(clones) == 1
  assert clones[0].outputs['images'].shape.as_list() == [BATCH, 28, 28, 3]
  assert [loss.op.name for loss in losses] == [
      'softmax_cross_entropy_loss/value']


def test_clone_fn_weighs_aux_logits_and_takes_soft_labels():
  def network_fn(images):
    net = slim.flatten(images)
    logits = slim.fully_connected(net, NUM_CLASSES, scope='logits')
    aux = slim.fully_connected(net, NUM_CLASSES, scope='aux')
    return logits, {'AuxLogits': aux}

  with tf.Graph().as_default():
    end_points = training.clone_fn(_constant_batches(soft_labels=True),
                                   network_fn, NUM_CLASSES, 0.0)
    losses = {loss.op.name: loss
              for loss in tf1.get_collection(tf1.GraphKeys.LOSSES)}
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      values = sess.run(losses)
      aux_logits, labels = sess.run([end_points['AuxLogits'],
                                     tf.one_hot([0, 1, 2, 3], 5) * 0.5 + 0.1])
  assert sorted(values) == ['aux_loss/value',
                            'softmax_cross_entropy_loss/value']
  # The aux loss weighs 0.4 of its cross-entropy on the soft labels.
  shifted = aux_logits - aux_logits.max(axis=1, keepdims=True)
  log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
  expected = 0.4 * np.mean(-(labels * log_softmax).sum(axis=1))
  np.testing.assert_allclose(values['aux_loss/value'], expected, rtol=1e-5)


def test_rewrite_for_quantization_only_with_a_delay():
  def fake_quant_ops():
    return [op for op in tf1.get_default_graph().get_operations()
            if op.type.startswith('FakeQuant')]

  with tf.Graph().as_default():
    _lenet_clones()
    training.rewrite_for_quantization(-1, 'lenet')
    assert not fake_quant_ops()
    training.rewrite_for_quantization(0, 'lenet')
    assert fake_quant_ops()


def test_rewrite_for_quantization_names_the_model(monkeypatch):
  def unsupported(quant_delay):
    raise slim.quantize.UnsupportedLayerError(f'Conv3D at {quant_delay}')
  monkeypatch.setattr(slim.quantize, 'create_training_graph', unsupported)
  with pytest.raises(cli.UserError) as error:
    training.rewrite_for_quantization(5, 'i3d')
  assert str(error.value) == ('--quantize_delay: --model_name=i3d cannot be '
                              'quantized: Conv3D at 5')


# ---------------------------------------------------------- optimizer chain
def test_variables_to_train_takes_the_scopes():
  with tf.Graph().as_default():
    _lenet_clones()
    everything = optimizer_chain.variables_to_train(None)
    some = optimizer_chain.variables_to_train('LeNet/fc4, LeNet/conv1')
    with pytest.raises(cli.UserError, match='--trainable_scopes=Le/x '
                       'matches no trainable variable'):
      optimizer_chain.variables_to_train('Le/x')
  assert len(everything) == 8  # 4 layers, weights and biases
  assert sorted(v.op.name for v in some) == [
      'LeNet/conv1/biases', 'LeNet/conv1/weights', 'LeNet/fc4/biases',
      'LeNet/fc4/weights']


def test_build_optimizer_follows_the_schedule():
  chain = train_specs.OptimizationSpec(
      'momentum', SGD.optimizer_params._replace(momentum=0.5,
                                                nesterov=False),
      'exponential', SGD.schedule._replace(learning_rate_decay_factor=0.5))
  with tf.Graph().as_default():
    step = tf1.placeholder(tf.int64, [])
    # 40 examples, batch 4: 10 steps an epoch, decayed by half each epoch.
    rate, optimizer = optimizer_chain.build_optimizer(chain, 40, 4, step)
    with tf1.Session() as sess:
      rates = [sess.run(rate, {step: s}) for s in (0, 9, 10, 25)]
  assert isinstance(optimizer, tf1.train.MomentumOptimizer)
  np.testing.assert_allclose(rates, [0.01, 0.01, 0.005, 0.0025], rtol=1e-6)


def test_wrap_optimizer_scales_float16_losses_and_syncs_replicas():
  sync = train_specs.OptimizationSpec(
      'sgd', SGD.optimizer_params, 'fixed', SGD.schedule,
      sync_replicas=True, replicas_to_aggregate=2)
  with tf.Graph().as_default():
    sgd = tf1.train.GradientDescentOptimizer(0.1)
    assert optimizer_chain.wrap_optimizer(sgd, 'float32', SGD, 1) == (sgd,
                                                                      None)
    scaled, none = optimizer_chain.wrap_optimizer(sgd, 'float16', SGD, 1)
    synced, sync_optimizer = optimizer_chain.wrap_optimizer(
        sgd, 'float16', sync, 3)
  assert isinstance(scaled, slim.precision.LossScaleOptimizer)
  assert none is None
  assert synced is sync_optimizer
  assert isinstance(synced, tf1.train.SyncReplicasOptimizer)
  assert synced._replicas_to_aggregate == 2  # pylint: disable=protected-access
  assert synced._total_num_replicas == 3  # pylint: disable=protected-access


def _chain(chain=SGD, model=specs.ModelSpec('lenet'), placement=ONE_REPLICA,
           summarize_gradients=False):
  global_step = slim.create_global_step()
  clones = _lenet_clones()
  return global_step, optimizer_chain.build_optimizer_chain(
      clones, global_step, chain, model, 40, BATCH, placement,
      summarize_gradients=summarize_gradients)


def test_the_chain_trains_and_keeps_moving_averages():
  with tf.Graph().as_default():
    global_step, chain = _chain(
        model=specs.ModelSpec('lenet', moving_average_decay=0.5))
    weights = slim.get_model_variables('LeNet/fc4/weights')[0]
    average = chain.moving_average.average(weights)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      before = sess.run(weights)
      losses = [sess.run(chain.train_tensor) for _ in range(3)]
      after, averaged, step = sess.run([weights, average, global_step])
  assert step == 3
  assert chain.sync_optimizer is None
  assert np.isfinite(losses).all()
  assert not np.allclose(before, after)
  # Between the first weights and the last: a moving average of them.
  assert not np.allclose(averaged, after)
  assert sorted(s.op.name for s in chain.summaries) == ['learning_rate',
                                                        'total_loss_1']


def test_asynchronous_replicas_stop_at_exactly_the_step_limit():
  limited = train_specs.OptimizationSpec(
      'sgd', SGD.optimizer_params, 'fixed', SGD.schedule,
      max_number_of_steps=2)
  replicas = train_specs.Placement(model_deploy.DeploymentConfig(),
                                   distributed=True)
  with tf.Graph().as_default():
    global_step, chain = _chain(limited, placement=replicas)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      sess.run(chain.train_tensor)
      sess.run(chain.train_tensor)
      weights = sess.run(tf1.trainable_variables())
      with pytest.raises(tf.errors.OutOfRangeError):
        sess.run(chain.train_tensor)
      # The refused step applied nothing.
      assert sess.run(global_step) == 2
      for before, now in zip(weights, sess.run(tf1.trainable_variables())):
        np.testing.assert_array_equal(before, now)


def test_a_non_finite_loss_updates_nothing():
  with tf.Graph().as_default():
    global_step = slim.create_global_step()
    weight = slim.model_variable('w', initializer=1.0)
    loss = tf.math.log(weight - 1.0)  # -inf
    sgd = tf1.train.GradientDescentOptimizer(0.1)
    checked = slim.learning.check_loss_numerics(loss)
    update = optimizer_chain._apply_gradients(  # pylint: disable=protected-access
        sgd, sgd.compute_gradients(loss, [weight]), global_step, checked,
        tf.constant(0.1), None)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(update)
      assert sess.run([weight, global_step]) == [1.0, 0]


# ---------------------------------------------------------------- summaries
def test_model_summaries_name_activations_losses_and_weights():
  with tf.Graph().as_default():
    clones = _lenet_clones()
    plain = train_summaries.model_summaries(clones[0].outputs, '')
    with_images = train_summaries.model_summaries(clones[0].outputs, '',
                                                  images=True)
    op = train_summaries.merge_summaries(plain, '')
  names = sorted(s.op.name for s in plain)
  end_points = sorted(k for k in clones[0].outputs if k != 'images')
  assert [n for n in names if n.startswith('activations/')] == [
      'activations/' + k for k in end_points]
  assert [n for n in names if n.startswith('sparsity/')] == [
      'sparsity/' + k for k in end_points]
  assert 'losses/softmax_cross_entropy_loss/value' in names
  assert 'LeNet/fc4/weights_1' in names  # the weights' histogram
  assert 'images' not in names
  assert 'images' in {s.op.name for s in with_images}
  # Merged with the first clone's own (one clone: its scope '' takes all).
  assert op.op.name == 'summary_op/summary_op'
  assert len(op.op.inputs) == len(plain) + len(with_images)


def test_the_chain_summarizes_gradients_when_asked():
  with tf.Graph().as_default():
    _, chain = _chain(summarize_gradients=True)
  names = {s.op.name for s in chain.summaries}
  assert {'LeNet/fc4/weights_gradient', 'LeNet/fc4/weights_gradient_norm',
          'learning_rate', 'total_loss_1'} <= names
  assert len(names) == 2 + 2 * 8  # a histogram and a norm per variable


# ---------------------------------------------------------------- fine-tune
def _save_checkpoint(path):
  with tf.Graph().as_default():
    with tf1.variable_scope('net'):
      slim.model_variable('kept', initializer=3.0)
      slim.model_variable('head', initializer=5.0)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      return tf1.train.Saver().save(sess, str(path / 'model.ckpt'))


def test_fine_tune_restores_all_but_the_excluded_scopes(tmp_path):
  checkpoint = _save_checkpoint(tmp_path)
  fine_tune = train_specs.FineTuneSpec(checkpoint, exclude_scopes='net/head')
  (tmp_path / 'train').mkdir()
  with tf.Graph().as_default():
    with tf1.variable_scope('net'):
      kept = slim.model_variable('kept', initializer=0.0)
      head = slim.model_variable('head', initializer=0.0)
    init_fn = training.fine_tune_init_fn(fine_tune, str(tmp_path / 'train'))
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      init_fn(sess)
      assert sess.run([kept, head]) == [3.0, 0.0]


def test_fine_tune_gives_way_to_a_checkpoint_to_resume(tmp_path):
  checkpoint = _save_checkpoint(tmp_path)
  with tf.Graph().as_default():
    # train_dir holds a checkpoint: training resumes from it instead.
    assert training.fine_tune_init_fn(train_specs.FineTuneSpec(checkpoint),
                                      str(tmp_path)) is None
    assert training.fine_tune_init_fn(train_specs.FineTuneSpec(),
                                      str(tmp_path)) is None


def test_fine_tune_names_an_unreadable_checkpoint(tmp_path):
  with tf.Graph().as_default(), pytest.raises(cli.UserError) as error:
    training.fine_tune_init_fn(
        train_specs.FineTuneSpec(str(tmp_path / 'missing.ckpt')),
        str(tmp_path))
  assert str(error.value).startswith('--checkpoint_path')


# ------------------------------------------------- validation and the loop
def test_no_cluster_no_done_ops_and_no_split_no_validation(tmp_path):
  with tf.Graph().as_default() as graph:
    assert training.done_ops(None) == []
    assert training.build_validation(_spec(tmp_path, tmp_path), 5) is None
    assert not graph.get_operations()


def test_the_pipeline_builds_a_graph_that_trains_and_validates(data,
                                                               tmp_path):
  spec = _spec(data, tmp_path, validation=train_specs.ValidationSpec(
      'validation', every_n_steps=1))
  with tf.Graph().as_default():
    graph = training.build_training_graph(spec, ONE_REPLICA)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      sess.run(graph.train_tensor)
      sess.run(graph.summary_op)
      sess.run(graph.validation.reset_op)
      sess.run(graph.validation.update_op)
      assert sess.run(graph.global_step) == 1
  assert isinstance(graph.validation, validation_lib.ValidationGraph)
  assert graph.validation.split_name == 'validation'
  assert graph.validation.num_batches == math.ceil(8 / BATCH)
  assert (graph.init_fn, graph.sync_optimizer, graph.done_ops) == (
      None, None, [])


def test_only_the_chief_validates(data, tmp_path):
  spec = _spec(data, tmp_path, validation=train_specs.ValidationSpec(
      'validation'))
  worker = train_specs.Placement(
      model_deploy.DeploymentConfig(replica_id=1, num_replicas=2,
                                    num_ps_tasks=1),
      replica_id=1, num_replicas=2, distributed=True)
  with tf.Graph().as_default():
    assert training.build_training_graph(spec, worker).validation is None


def test_validator_keeps_the_best_only_when_asked(tmp_path):
  graph = validation_lib.ValidationGraph(None, None, {}, None, 'v', 1)
  assert training.validator(None, str(tmp_path),
                            train_specs.ValidationSpec('v')) is None
  plain = training.validator(graph, str(tmp_path),
                             train_specs.ValidationSpec('v', every_n_steps=3))
  best = training.validator(graph, str(tmp_path), train_specs.ValidationSpec(
      'v', keep_best_checkpoints=2))
  try:
    assert plain._best is None  # pylint: disable=protected-access
    assert best._best is not None  # pylint: disable=protected-access
  finally:
    plain.close()
    best.close()


def test_step_callbacks_call_each_source_in_order():
  calls = []

  class Source:
    def __init__(self, name):
      self.step_callback = lambda *args: calls.append((name,) + args)

  class Silent:
    step_callback = None

  assert training.step_callbacks(None, Silent()) is None
  training.step_callbacks(Source('a'), None, Source('b'))(7, 0.5, 1.0)
  assert calls == [('a', 7, 0.5, 1.0), ('b', 7, 0.5, 1.0)]
