"""Trains an image classifier: the research/slim command line, on TF 2.21.

    python train_image_classifier.py \
      --train_dir=/tmp/shapes-cifarnet --dataset_name=shapes \
      --dataset_split_name=train --dataset_dir=/tmp/shapes \
      --model_name=cifarnet --preprocessing_name=cifarnet \
      --max_number_of_steps=400 --batch_size=64 --learning_rate=0.05 \
      --optimizer=sgd --learning_rate_decay_type=fixed

Every flag of the original script is here with its default and meaning
(compat/upstream_flags.md). Fine-tuning is --checkpoint_path with
--checkpoint_exclude_scopes / --trainable_scopes / --ignore_missing_vars.
Training resumes from the latest checkpoint in --train_dir and stops at
exactly --max_number_of_steps; SIGINT/SIGTERM write a checkpoint first and
exit with status 130/143, so `train && eval` does not go on.
The resolved flags are written to <train_dir>/train_flags.json.
"""
import os
import sys

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags
from absl import logging
import tensorflow as tf

import slim
from deployment import model_deploy
from image_classifier import cli
from image_classifier import inputs
from image_classifier import network
from image_classifier import optimization

tf1 = tf.compat.v1

# ---------------------------------------------------------------- deployment
flags.DEFINE_string('master', '', 'The address of the TensorFlow master to '
                    'use ("" runs in-process).')
flags.DEFINE_string('train_dir', '/tmp/tfmodel/',
                    'Directory where checkpoints and event logs are written.')
flags.DEFINE_float('warmup_epochs', 0, 'Linearly warm up the learning rate '
                   'from 0 over this many epochs (0: no warm-up).')
flags.DEFINE_integer('num_clones', 1, 'Number of model clones to deploy '
                     '(one per GPU; several on the CPU with --clone_on_cpu).')
flags.DEFINE_boolean('clone_on_cpu', False, 'Use CPUs to deploy clones.')
flags.DEFINE_integer('worker_replicas', 1, 'Number of worker replicas.')
flags.DEFINE_integer('num_ps_tasks', 0, 'Number of parameter servers; 0 '
                     'keeps variables on the worker.')
flags.DEFINE_integer('num_readers', 4, 'Number of TFRecord files read in '
                     'parallel.')
flags.DEFINE_integer('num_preprocessing_threads', 4,
                     'Number of parallel preprocessing calls.')
flags.DEFINE_integer('log_every_n_steps', 10,
                     'How often (in steps) the loss is logged.')
flags.DEFINE_integer('save_summaries_secs', 600,
                     'How often (in seconds) summaries are saved.')
flags.DEFINE_integer('save_interval_secs', 600,
                     'How often (in seconds) the model is checkpointed.')
flags.DEFINE_integer('task', 0, 'Task id of the replica running the '
                     'training.')

# ----------------------------------------------------------------- optimizer
flags.DEFINE_float('weight_decay', 0.00004,
                   'The weight decay on the model weights.')
flags.DEFINE_string('optimizer', 'rmsprop', 'The optimizer: one of '
                    + ', '.join(optimization.OPTIMIZER_NAMES) + '.')
flags.DEFINE_float('adadelta_rho', 0.95, 'The decay rate for adadelta.')
flags.DEFINE_float('adagrad_initial_accumulator_value', 0.1,
                   'Starting value for the AdaGrad accumulators.')
flags.DEFINE_float('adam_beta1', 0.9,
                   'The exponential decay rate for the 1st moment estimates.')
flags.DEFINE_float('adam_beta2', 0.999,
                   'The exponential decay rate for the 2nd moment estimates.')
flags.DEFINE_float('opt_epsilon', 1.0, 'Epsilon term for the optimizer.')
flags.DEFINE_float('ftrl_learning_rate_power', -0.5,
                   'The learning rate power.')
flags.DEFINE_float('ftrl_initial_accumulator_value', 0.1,
                   'Starting value for the FTRL accumulators.')
flags.DEFINE_float('ftrl_l1', 0.0, 'The FTRL l1 regularization strength.')
flags.DEFINE_float('ftrl_l2', 0.0, 'The FTRL l2 regularization strength.')
flags.DEFINE_float('momentum', 0.9,
                   'The momentum for the MomentumOptimizer.')
flags.DEFINE_boolean('nesterov', False, 'Use Nesterov momentum with '
                     '--optimizer=momentum (new).')
flags.DEFINE_float('adamw_weight_decay', 0.01, 'Decoupled weight decay of '
                   '--optimizer=adamw, applied to kernels only (new).')
flags.DEFINE_float('rmsprop_momentum', 0.9, 'Momentum of RMSProp.')
flags.DEFINE_float('rmsprop_decay', 0.9, 'Decay term for RMSProp.')
flags.DEFINE_integer('quantize_delay', -1, 'Step at which quantization-aware '
                     'training starts; -1 disables it (not supported yet).')

# ------------------------------------------------------------- learning rate
flags.DEFINE_string('learning_rate_decay_type', 'exponential',
                    'How the learning rate decays: one of '
                    + ', '.join(optimization.SCHEDULE_NAMES) + '.')
flags.DEFINE_float('learning_rate', 0.01, 'Initial learning rate.')
flags.DEFINE_float('end_learning_rate', 0.0001, 'The minimal end learning '
                   'rate used by a polynomial or cosine decay learning rate.')
flags.DEFINE_float('label_smoothing', 0.0, 'The amount of label smoothing.')
flags.DEFINE_float('learning_rate_decay_factor', 0.94,
                   'Learning rate decay factor.')
flags.DEFINE_float('num_epochs_per_decay', 2.0,
                   'Number of epochs after which the learning rate decays '
                   '(cosine: its span when --max_number_of_steps is None).')
flags.DEFINE_bool('sync_replicas', False, 'Whether to use the '
                  'SyncReplicasOptimizer (not supported yet).')
flags.DEFINE_integer('replicas_to_aggregate', 1, 'The number of gradients to '
                     'collect before updating params.')
flags.DEFINE_float('moving_average_decay', None, 'The decay of the moving '
                   'average of the model variables; None: no moving average.')

# ------------------------------------------------------------------- dataset
flags.DEFINE_string('dataset_name', 'imagenet', 'The name of the dataset to '
                    'load.')
flags.DEFINE_string('dataset_split_name', 'train', 'The split to train on.')
flags.DEFINE_string('dataset_dir', None, 'The directory holding the dataset '
                    'files.')
flags.DEFINE_integer('labels_offset', 0, 'Subtracted from every label; 1 for '
                     '1000-class networks on 1001-class (background) data.')
flags.DEFINE_string('model_name', 'inception_v3', 'The name of the network '
                    'to train.')
flags.DEFINE_string('preprocessing_name', None, 'The preprocessing to use; '
                    'None uses the model_name\'s.')
flags.DEFINE_integer('batch_size', 32, 'The number of samples in each batch '
                     '(per clone).')
flags.DEFINE_integer('train_image_size', None, 'Train image size; None uses '
                     'the network\'s default.')
flags.DEFINE_integer('max_number_of_steps', None, 'The maximum number of '
                     'training steps; None trains forever.')
flags.DEFINE_bool('use_grayscale', False, 'Convert images to grayscale in '
                  'preprocessing.')
flags.DEFINE_integer('seed', None, 'Graph-level random seed (new).')

# --------------------------------------------------------------- fine-tuning
flags.DEFINE_string('checkpoint_path', None, 'The checkpoint (file or '
                    'directory) to fine-tune from.')
flags.DEFINE_string('checkpoint_exclude_scopes', None, 'Comma-separated '
                    'scopes of variables not restored from the checkpoint.')
flags.DEFINE_string('trainable_scopes', None, 'Comma-separated scopes of the '
                    'variables to train; None trains all.')
flags.DEFINE_boolean('ignore_missing_vars', False, 'Skip variables missing '
                     'from the checkpoint instead of failing.')

# ----------------------------------------------------------------- summaries
flags.DEFINE_boolean('summarize_images', False, 'Add the input images to the '
                     'TensorBoard summaries (new).')
flags.DEFINE_boolean('summarize_gradients', False, 'Add gradient histograms '
                     'to the TensorBoard summaries (new).')

FLAGS = flags.FLAGS

FLAGS_FILENAME = 'train_flags.json'


def _split_scopes(value):
  return [s.strip() for s in (value or '').split(',') if s.strip()]


def check_unsupported(values):
  """Fails with one line for a machinery flag set to what is not built yet."""
  if values.worker_replicas > 1 or values.num_ps_tasks > 0:
    cli.fail('--worker_replicas > 1 and --num_ps_tasks > 0 (multi-machine '
             'training) are not supported yet; train on one machine with '
             '--num_clones instead.')
  if values.sync_replicas:
    cli.fail('--sync_replicas is not supported yet (it needs '
             '--worker_replicas > 1).')
  if values.task != 0:
    cli.fail(f'--task={values.task} needs --worker_replicas > 1, which is '
             'not supported yet.')
  if values.quantize_delay >= 0:
    cli.fail('--quantize_delay: quantization-aware training is not supported '
             'yet (tf.contrib.quantize no longer exists).')


def variables_to_train(trainable_scopes):
  """Trainable variables under the comma-separated scopes (all if None)."""
  if not trainable_scopes:
    return tf1.trainable_variables()
  found = []
  for scope in _split_scopes(trainable_scopes):
    found.extend(tf1.get_collection(tf1.GraphKeys.TRAINABLE_VARIABLES, scope))
  if not found:
    cli.fail(f'--trainable_scopes={trainable_scopes} matches no trainable '
             'variable; scopes look like InceptionV3/Logits.')
  return found


def fine_tune_init_fn(checkpoint_path, exclude_scopes, ignore_missing_vars,
                      train_dir):
  """fn(session) restoring the model variables not excluded, or None.

  None when there is no checkpoint_path, or when train_dir already holds a
  checkpoint (training then resumes from it instead).
  """
  if not checkpoint_path:
    return None
  if tf.train.latest_checkpoint(train_dir):
    logging.info('Ignoring --checkpoint_path because a checkpoint already '
                 'exists in %s', train_dir)
    return None
  exclusions = _split_scopes(exclude_scopes)
  to_restore = [v for v in slim.get_model_variables()
                if not any(v.op.name.startswith(e) for e in exclusions)]
  with cli.user_input('--checkpoint_path'):
    checkpoint_path = slim.variables.resolve_checkpoint_path(checkpoint_path)
    logging.info('Fine-tuning from %s', checkpoint_path)
    return slim.assign_from_checkpoint_fn(
        checkpoint_path, to_restore, ignore_missing_vars=ignore_missing_vars)


def clone_fn(batches, network_fn, num_classes, label_smoothing):
  """Builds one clone: network and losses on the next batch."""
  images, labels = inputs.iterator_get_next(batches)
  onehot_labels = tf.one_hot(labels, num_classes)
  logits, end_points = network_fn(images)
  if 'AuxLogits' in end_points:
    slim.losses.softmax_cross_entropy(
        end_points['AuxLogits'], onehot_labels,
        label_smoothing=label_smoothing, weights=0.4, scope='aux_loss')
  slim.losses.softmax_cross_entropy(
      logits, onehot_labels, label_smoothing=label_smoothing, weights=1.0)
  end_points['images'] = images
  return end_points


def _activation_summaries(end_points):
  summaries = set()
  for name, tensor in end_points.items():
    if name == 'images':
      continue
    summaries.add(tf1.summary.histogram('activations/' + name, tensor))
    summaries.add(tf1.summary.scalar('sparsity/' + name,
                                     tf.nn.zero_fraction(tensor)))
  return summaries


def build_training_graph(values):
  """Builds the training graph from flag values.

  Returns:
    (train_tensor, summary_op, init_fn, data_files).
  """
  network.check_image_model(values.model_name,
                            'train_image_classifier.py trains image models.')
  with cli.user_input('--optimizer'):
    optimization.check_optimizer_name(values.optimizer)
  with cli.user_input('--learning_rate_decay_type'):
    optimization.check_schedule_name(values.learning_rate_decay_type)
  if values.seed is not None:
    tf1.set_random_seed(values.seed)

  config = model_deploy.DeploymentConfig(
      num_clones=values.num_clones, clone_on_cpu=values.clone_on_cpu,
      replica_id=values.task, num_replicas=values.worker_replicas,
      num_ps_tasks=values.num_ps_tasks)
  with tf1.device(config.variables_device()):
    global_step = slim.create_global_step()

  model = network.model_inputs(values, is_training=True,
                               image_size=values.train_image_size,
                               weight_decay=values.weight_decay)

  with tf1.device(config.inputs_device()):
    with cli.user_input('--dataset_dir'):
      provider = inputs.train_provider(model.dataset, values.num_readers,
                                       values.batch_size, seed=values.seed)
    batches = inputs.batched(
        provider, model.preprocessing_fn, model.image_size, values.batch_size,
        labels_offset=values.labels_offset,
        num_threads=values.num_preprocessing_threads, drop_remainder=True)
    batches = batches.repeat()

  summaries = set(tf1.get_collection(tf1.GraphKeys.SUMMARIES))
  clones = model_deploy.create_clones(
      config, clone_fn,
      [batches, model.network_fn, model.num_classes,
       values.label_smoothing])
  first_clone_scope = config.clone_scope(0)
  update_ops = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS, first_clone_scope)
  end_points = clones[0].outputs
  summaries |= _activation_summaries(end_points)
  if values.summarize_images:
    summaries.add(tf1.summary.image('images', end_points['images']))
  for loss in tf1.get_collection(tf1.GraphKeys.LOSSES, first_clone_scope):
    summaries.add(tf1.summary.scalar('losses/' + loss.op.name, loss))
  for variable in slim.get_model_variables():
    summaries.add(tf1.summary.histogram(variable.op.name, variable))

  moving_average = None
  if values.moving_average_decay:
    moving_average = tf1.train.ExponentialMovingAverage(
        values.moving_average_decay, global_step)

  with tf1.device(config.optimizer_device()):
    learning_rate = optimization.configure_learning_rate(
        values.learning_rate_decay_type,
        optimization.ScheduleParams(
            values.learning_rate, values.end_learning_rate,
            values.learning_rate_decay_factor, values.num_epochs_per_decay,
            values.warmup_epochs),
        model.dataset.num_samples, values.batch_size, global_step,
        max_number_of_steps=values.max_number_of_steps)
    optimizer = optimization.configure_optimizer(
        values.optimizer, learning_rate,
        optimization.OptimizerParams(*[
            getattr(values, name)
            for name in optimization.OptimizerParams._fields]))
    summaries.add(tf1.summary.scalar('learning_rate', learning_rate))

  total_loss, clones_gradients = model_deploy.optimize_clones(
      clones, optimizer,
      var_list=variables_to_train(values.trainable_scopes))
  summaries.add(tf1.summary.scalar('total_loss', total_loss))
  if values.summarize_gradients:
    summaries |= set(slim.learning.add_gradients_summaries(clones_gradients))

  # A NaN/Inf loss stops the step before any weight is updated, so the
  # last checkpoint stays good.
  checked_loss = tf.debugging.check_numerics(total_loss,
                                             'LossTensor is inf or nan')
  with tf.control_dependencies([checked_loss]):
    grad_updates = optimizer.apply_gradients(clones_gradients,
                                             global_step=global_step)
  update_ops.append(grad_updates)
  if moving_average is not None:
    update_ops.append(moving_average.apply(slim.get_model_variables()))
  with tf.control_dependencies([tf.group(*update_ops)]):
    train_tensor = tf.identity(checked_loss, name='train_op')

  summaries |= set(tf1.get_collection(tf1.GraphKeys.SUMMARIES,
                                      first_clone_scope))
  summary_op = tf1.summary.merge(sorted(summaries, key=lambda s: s.name),
                                 name='summary_op')
  init_fn = fine_tune_init_fn(values.checkpoint_path,
                              values.checkpoint_exclude_scopes,
                              values.ignore_missing_vars, values.train_dir)
  return train_tensor, summary_op, init_fn, provider.data_files


def train(values):
  """Builds the graph and trains; returns the final loss."""
  with tf.Graph().as_default():
    train_tensor, summary_op, init_fn, data_files = build_training_graph(
        values)
    latest = tf.train.latest_checkpoint(values.train_dir)
    if latest:
      cli.check_checkpoint_fits(
          latest, tf1.global_variables(),
          f'--train_dir={values.train_dir} holds {latest}, which',
          'Resume with the flags it was trained with, or train in a new '
          '--train_dir (fine-tune from it with --checkpoint_path and '
          '--checkpoint_exclude_scopes).')
    session_config = tf1.ConfigProto(allow_soft_placement=True)
    try:
      return slim.learning.train(
          train_tensor, logdir=values.train_dir, master=values.master,
          is_chief=(values.task == 0), init_fn=init_fn,
          summary_op=summary_op, number_of_steps=values.max_number_of_steps,
          log_every_n_steps=values.log_every_n_steps,
          save_summaries_secs=values.save_summaries_secs,
          save_interval_secs=values.save_interval_secs,
          session_config=session_config,
          examples_per_step=values.batch_size * values.num_clones)
    except tf.errors.DataLossError as e:
      inputs.fail_unreadable(e, data_files)
    except tf.errors.InvalidArgumentError as e:
      # slim.learning.train re-raises the failed loss check with its own
      # message ('Loss is NaN or Inf at global step N ...').
      if not any(text in (e.message or '') for text in (
          'LossTensor is inf or nan', 'Loss is NaN or Inf')):
        raise
      latest = tf.train.latest_checkpoint(values.train_dir)
      cli.fail('The loss became NaN or Inf, so training stopped; try a '
               'lower --learning_rate. '
               + (f'The last good checkpoint is {latest}.' if latest else
                  'No checkpoint was written.'))


def main(argv):
  cli.check_no_arguments(argv)
  if not FLAGS.dataset_dir:
    cli.fail('You must supply the dataset directory with --dataset_dir.')
  check_unsupported(FLAGS)
  warning = optimization.epsilon_warning(FLAGS.optimizer,
                                         FLAGS['opt_epsilon'].present)
  if warning:
    logging.warning(warning)
  cli.ensure_writable_dir(FLAGS.train_dir, '--train_dir')
  cli.write_json_atomic(os.path.join(FLAGS.train_dir, FLAGS_FILENAME),
                        cli.module_flag_values(__name__))
  with cli.noting_stop_signals() as signals:
    loss = train(FLAGS)
  if signals:
    logging.info('Stopped by signal %d with a checkpoint in %s; run the same '
                 'command again to resume.', signals[0], FLAGS.train_dir)
    sys.exit(128 + signals[0])
  if loss is not None:
    logging.info('Finished training. Final loss: %.4f', loss)


if __name__ == '__main__':
  cli.run(main)
