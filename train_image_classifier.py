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
The resolved flags are written to <train_dir>/train_flags.json once the
run is known to be valid (a refused resume leaves the file as it was). One
run at a time trains in a --train_dir: a second one started on it ends at
once with a line naming the first (image_classifier/run_lock.py).

Validation while training (new): --validation_split_name=validation
evaluates the current weights (their moving averages with
--moving_average_decay) on that split every --validation_every_n_steps
(or --validation_every_n_secs) and at the end, on the chief; it logs the
metrics, writes them to TensorBoard (<train_dir>/validation) and appends
them to <train_dir>/validation.jsonl. --keep_best_checkpoints=N keeps
copies of the N best checkpoints by validation Accuracy, with their
metrics, in <train_dir>/best/ (image_classifier/best_checkpoints.py; a
kill at any moment leaves it consistent). --batch_norm_decay sets the
decay of every batch norm's moving statistics; a run too short for its
decay ends with a warning (image_classifier/batch_norm.py).

Several machines: start the same command on each, with the cluster given
as --ps_hosts/--worker_hosts/--job_name/--task or as TF_CONFIG. The
cluster's life (the Deployment these flags resolve to, the server start,
the parameter server's serve loop and exit, the one-line lost-task errors)
lives in deployment/training_cluster.py; this script turns its flags into a
DeploymentRequest and installs the parameter server's signal handlers. Parameter servers serve until every worker has
finished; worker task 0 is the chief (it initializes or restores, and alone
writes checkpoints and summaries). --sync_replicas aggregates
--replicas_to_aggregate gradients per update; otherwise workers update
asynchronously, and the global step still stops at exactly
--max_number_of_steps.
"""
import collections
import contextlib
import os
import signal
import sys
import threading

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags
from absl import logging
import tensorflow as tf

import slim
from slim import signals
from deployment import cluster as cluster_lib
from deployment import model_deploy
from deployment import training_cluster
from image_classifier import batch_norm
from image_classifier import best_checkpoints
from image_classifier import cli
from image_classifier import compute
from image_classifier import inputs
from image_classifier import network
from image_classifier import optimization
from flag_groups import common_flags
from flag_groups import compute_flags
from image_classifier import progress
from image_classifier import restore
from image_classifier import run_lock
from image_classifier import validation as validation_lib
from preprocessing import augment

tf1 = tf.compat.v1

# ---------------------------------------------------------------- deployment
flags.DEFINE_string('master', '', 'The address of the TensorFlow master to '
                    'use ("" runs in-process, or on the server the cluster '
                    'flags start).')
flags.DEFINE_string('train_dir', '/tmp/tfmodel/',
                    'Directory where checkpoints and event logs are written.')
flags.DEFINE_float('warmup_epochs', 0, 'Linearly warm up the learning rate '
                   'from 0 over this many epochs (0: no warm-up).')
flags.DEFINE_integer('num_clones', 1, 'Number of model clones to deploy '
                     '(one per GPU; several on the CPU with --clone_on_cpu).')
flags.DEFINE_boolean('clone_on_cpu', False, 'Use CPUs to deploy clones.')
flags.DEFINE_integer('worker_replicas', 1, 'Number of worker replicas '
                     '(with a cluster: its number of workers).')
flags.DEFINE_integer('num_ps_tasks', 0, 'Number of parameter servers; 0 '
                     'keeps variables on the worker (with a cluster: its '
                     'number of ps tasks).')
flags.DEFINE_integer('num_readers', 4, 'Number of TFRecord files read in '
                     'parallel.')
flags.DEFINE_integer('log_every_n_steps', 10,
                     'How often (in steps) the loss is logged.')
flags.DEFINE_integer('save_summaries_secs', 600,
                     'How often (in seconds) summaries are saved.')
flags.DEFINE_integer('save_interval_secs', 600,
                     'How often (in seconds) the model is checkpointed.')
flags.DEFINE_integer('task', 0, 'Task id of the replica running the '
                     'training (with --job_name: the index in that job).')
flags.DEFINE_string('ps_hosts', '', 'Cluster: comma-separated host:port of '
                    'the parameter servers (new).')
flags.DEFINE_string('worker_hosts', '', 'Cluster: comma-separated host:port '
                    'of the workers; task 0 is the chief (new).')
flags.DEFINE_string('job_name', None, 'Cluster: this process\'s job, ps or '
                    'worker. Without the host flags, the cluster is read from '
                    'the TF_CONFIG environment variable (new).')
flags.DEFINE_integer('cluster_startup_timeout_secs', 300, 'Cluster: seconds '
                     'to wait for the parameter servers (and, on the other '
                     'workers, for the chief to initialize the model) '
                     'before giving up (new).')

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
                     'training starts (batch norms folded, 8-bit fake '
                     'quantization as tf.contrib.quantize did; ranges tracked '
                     'from step 0); -1 disables it.')

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
                  'SyncReplicasOptimizer: each update aggregates '
                  '--replicas_to_aggregate gradients.')
flags.DEFINE_integer('replicas_to_aggregate', 1, 'The number of gradients to '
                     'collect before updating params.')
flags.DEFINE_integer('sync_wait_log_secs', 60, 'Cluster with --sync_replicas: '
                     'when no step has finished for this long, log which '
                     'tasks the step waits for, and again every as long '
                     '(new).')

# ------------------------------------------------------------------- dataset
common_flags.define_dataset_flags(__name__, dataset_split_name='train')
common_flags.define_model_flags(__name__, quantize=False)
common_flags.define_input_flags(__name__, batch_size=32)
common_flags.define_image_size_flag(__name__, 'train_image_size')
flags.DEFINE_integer('max_number_of_steps', None, 'The maximum number of '
                     'training steps; None trains forever.')
flags.DEFINE_integer('seed', None, 'Graph-level random seed (new).')

# -------------------------------------------------------------- augmentation
flags.DEFINE_integer('randaugment_layers', 0, 'RandAugment: ops applied to '
                     'each training image, before its preprocessing (N); 0: '
                     'no RandAugment (new).')
flags.DEFINE_integer('randaugment_magnitude', 10, 'RandAugment: magnitude M '
                     f'of every op, 0 to {augment.MAX_MAGNITUDE} (new).')
flags.DEFINE_float('random_erasing', 0.0, 'Probability of erasing a random '
                   'rectangle of each preprocessed training image with '
                   'noise; 0: never (new).')
flags.DEFINE_float('mixup_alpha', 0.0, 'mixup: Beta(alpha, alpha) weight of '
                   'each batch mixed with itself reversed, labels mixed '
                   'alike; 0: no mixup (new).')
flags.DEFINE_float('cutmix_alpha', 0.0, 'cutmix: Beta(alpha, alpha) of the '
                   'area kept when a box of the reversed batch is pasted in; '
                   'with --mixup_alpha too, each batch gets one of the two; '
                   '0: no cutmix (new).')

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

# ------------------------------------------------ validation and batch norm
flags.DEFINE_string('validation_split_name', None, 'Evaluate the current '
                    'weights on this split while training (chief only); '
                    'None: no validation (new).')
flags.DEFINE_integer('validation_every_n_steps', 0, 'Validate when the '
                     'global step is a multiple of this; 0 uses '
                     '--validation_every_n_secs (new).')
flags.DEFINE_integer('validation_every_n_secs', 600, 'Validate when this '
                     'many seconds passed since the last validation (with '
                     '--validation_every_n_steps=0); validation also runs '
                     'at the end of training (new).')
flags.DEFINE_integer('keep_best_checkpoints', 0, 'Keep copies of the N best '
                     'checkpoints by validation Accuracy, with their '
                     'metrics, in <train_dir>/best/; 0 keeps none (new).')
flags.DEFINE_float('batch_norm_decay', None, 'Decay of the batch-norm moving '
                   'statistics; None: the network\'s own (e.g. 0.9997). '
                   'Short runs want a smaller one, about 1 - 3/steps '
                   '(new).')

compute_flags.define_compute_flags(__name__)

FLAGS = flags.FLAGS

FLAGS_FILENAME = 'train_flags.json'


def _split_scopes(value):
  return [s.strip() for s in (value or '').split(',') if s.strip()]


def deployment_request(values, given=None):
  """The training_cluster.DeploymentRequest of the flag values (TF_CONFIG
  read from the environment).

  Args:
    values: the flag values.
    given: names of the flags of training_cluster.CLUSTER_DECIDES given on
      the command line; None treats a non-default value as given.
  """
  return training_cluster.DeploymentRequest(
      master=values.master, worker_replicas=values.worker_replicas,
      num_ps_tasks=values.num_ps_tasks, task=values.task,
      ps_hosts=values.ps_hosts, worker_hosts=values.worker_hosts,
      job_name=values.job_name, tf_config=os.environ.get('TF_CONFIG'),
      given=frozenset(given) if given is not None else None,
      startup_timeout_secs=values.cluster_startup_timeout_secs)


def resolve_deployment(values, given=None):
  """The training_cluster.Deployment that the flags (or TF_CONFIG) ask for.

  Args:
    values: the flag values.
    given: as `deployment_request` takes it.

  Raises:
    cli.UserError: for a malformed or inconsistent cluster description.
  """
  with cli.user_input():
    return training_cluster.resolve(deployment_request(values, given))


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
    # Another run's best/: the best that its index.json lists.
    checkpoint_path = slim.variables.resolve_checkpoint_path(
        best_checkpoints.best_checkpoint(checkpoint_path) or checkpoint_path)
    slim.variables.check_checkpoint_readable(checkpoint_path)
    logging.info('Fine-tuning from %s', checkpoint_path)
    return slim.assign_from_checkpoint_fn(
        checkpoint_path, to_restore, ignore_missing_vars=ignore_missing_vars)


def clone_fn(batches, network_fn, num_classes, label_smoothing):
  """Builds one clone: network and losses on the next batch.

  The labels are class ids, or [batch, num_classes] soft labels when mixup
  or cutmix mixed them.
  """
  images, labels = inputs.iterator_get_next(batches)
  onehot_labels = (labels if labels.shape.rank == 2
                   else tf.one_hot(labels, num_classes))
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


TrainingGraph = collections.namedtuple('TrainingGraph', [
    'train_tensor', 'summary_op', 'init_fn', 'data_files', 'global_step',
    'sync_optimizer', 'done_ops', 'learning_rate', 'validation',
    'bad_records'], defaults=(None, None, None))
TrainingGraph.__doc__ = """What train() runs: the train op, the summary op,
the fine-tuning init_fn (or None), the record files read, the global step,
the SyncReplicasOptimizer (or None), the ops that tell the parameter
servers this worker finished ([] without a cluster), the learning rate
tensor, the validation_lib.ValidationGraph (or None) and the
inputs.BadRecords of the training input (--max_bad_records)."""


def check_validation_flags(values):
  """Fails with one line for inconsistent validation or batch-norm flags."""
  batch_norm.check_decay(values.batch_norm_decay)
  for name in ('validation_every_n_steps', 'validation_every_n_secs',
               'keep_best_checkpoints'):
    if getattr(values, name) < 0:
      cli.fail(f'--{name} must be >= 0; received {getattr(values, name)}.')
  if values.keep_best_checkpoints and not values.validation_split_name:
    cli.fail('--keep_best_checkpoints ranks checkpoints by validation '
             'accuracy: give --validation_split_name too (e.g. validation).')


def _apply_gradients(optimizer, grads_and_vars, global_step, checked_loss,
                     learning_rate, step_limit):
  """The update op, gated on a finite loss.

  With `step_limit` (asynchronous replicas), the step is claimed before the
  update with an atomic count_up_to on the global step: a replica that
  finds the limit reached gets OutOfRangeError (which ends training) and
  applies nothing, so the global step stops at exactly the limit however
  many workers race for the last step. The learning rate is read before
  the claim, so the update uses the same rate as without it.
  """
  # A NaN/Inf loss stops the step before any weight is updated, so the
  # last checkpoint stays good.
  with tf.control_dependencies([checked_loss]):
    if step_limit is None:
      return optimizer.apply_gradients(grads_and_vars,
                                       global_step=global_step)
    with tf.control_dependencies([learning_rate]):
      claim = tf.raw_ops.ResourceCountUpTo(
          resource=global_step.handle, limit=step_limit,
          T=global_step.dtype.base_dtype)
  with tf.control_dependencies([claim]):
    return optimizer.apply_gradients(grads_and_vars)


def build_training_graph(values, deployment=None):
  """Builds the training graph from flag values.

  Args:
    values: the flag values.
    deployment: a Deployment; default: resolved from `values`.

  Returns:
    A TrainingGraph.
  """
  if deployment is None:
    deployment = resolve_deployment(values)
  network.check_image_model(values.model_name,
                            'train_image_classifier.py trains image models.')
  with cli.user_input('--optimizer'):
    optimization.check_optimizer_name(values.optimizer)
  with cli.user_input('--learning_rate_decay_type'):
    optimization.check_schedule_name(values.learning_rate_decay_type)
  if values.sync_replicas and values.replicas_to_aggregate < 1:
    cli.fail('--replicas_to_aggregate must be at least 1; got '
             f'{values.replicas_to_aggregate}.')
  check_validation_flags(values)
  if values.seed is not None:
    tf1.set_random_seed(values.seed)
  with cli.user_input():
    augmentation = augment.AugmentParams.from_values(values)

  with cli.user_input('--num_clones'):
    config = deployment.config(values.num_clones, values.clone_on_cpu)
  with tf1.device(config.variables_device()):
    global_step = slim.create_global_step()

  model = network.model_inputs(values, is_training=True,
                               image_size=values.train_image_size,
                               weight_decay=values.weight_decay,
                               batch_norm_decay=values.batch_norm_decay)

  with tf1.device(config.inputs_device()):
    # Each replica shuffles its own way (with --seed, reproducibly).
    seed = values.seed
    if seed is not None and deployment.replica_id:
      seed += deployment.replica_id
    with cli.user_input('--max_bad_records'):
      bad_records = inputs.BadRecords(values.max_bad_records)
    with cli.user_input('--dataset_dir'):
      provider = inputs.train_provider(model.dataset, values.num_readers,
                                       values.batch_size, seed=seed,
                                       bad_records=bad_records)
    batches = inputs.batched(
        provider, model.preprocessing_fn, model.image_size, values.batch_size,
        labels_offset=values.labels_offset,
        num_threads=values.num_preprocessing_threads, drop_remainder=True,
        augmentation=augmentation, num_classes=model.num_classes, seed=seed)
    batches = batches.repeat()

  summaries = set(tf1.get_collection(tf1.GraphKeys.SUMMARIES))
  clones = model_deploy.create_clones(
      config, clone_fn,
      [batches, model.network_fn, model.num_classes,
       values.label_smoothing])
  if values.quantize_delay >= 0:
    # Rewrites every clone's layers before any gradient is computed.
    try:
      slim.quantize.create_training_graph(quant_delay=values.quantize_delay)
    except slim.quantize.UnsupportedLayerError as e:
      cli.fail(f'--quantize_delay: --model_name={values.model_name} cannot '
               f'be quantized: {e}')
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
        replicas_to_aggregate=(values.replicas_to_aggregate
                               if values.sync_replicas else 1),
        max_number_of_steps=values.max_number_of_steps)
    optimizer = optimization.configure_optimizer(
        values.optimizer, learning_rate,
        optimization.OptimizerParams(*[
            getattr(values, name)
            for name in optimization.OptimizerParams._fields]))
    summaries.add(tf1.summary.scalar('learning_rate', learning_rate))

  if values.precision == 'float16':
    # float16 gradients underflow without loss scaling.
    with tf1.device(config.variables_device()):
      optimizer = slim.precision.LossScaleOptimizer(optimizer)
  sync_optimizer = None
  if values.sync_replicas:
    # The chief's queue runner aggregates the gradients, applies them and
    # updates the moving averages, once per global step.
    optimizer = sync_optimizer = tf1.train.SyncReplicasOptimizer(
        optimizer, replicas_to_aggregate=values.replicas_to_aggregate,
        total_num_replicas=deployment.num_replicas,
        variable_averages=moving_average,
        variables_to_average=(slim.get_model_variables()
                              if moving_average is not None else None))
  elif moving_average is not None:
    update_ops.append(moving_average.apply(slim.get_model_variables()))

  total_loss, clones_gradients = model_deploy.optimize_clones(
      clones, optimizer,
      var_list=variables_to_train(values.trainable_scopes))
  summaries.add(tf1.summary.scalar('total_loss', total_loss))
  if values.summarize_gradients:
    summaries |= set(slim.learning.add_gradients_summaries(clones_gradients))

  checked_loss = slim.learning.check_loss_numerics(total_loss)
  exact_stop = (deployment.distributed and not values.sync_replicas
                and values.max_number_of_steps)
  update_ops.append(_apply_gradients(
      optimizer, clones_gradients, global_step, checked_loss, learning_rate,
      values.max_number_of_steps if exact_stop else None))
  with tf.control_dependencies([tf.group(*update_ops)]):
    train_tensor = tf.identity(checked_loss, name='train_op')

  summaries |= set(tf1.get_collection(tf1.GraphKeys.SUMMARIES,
                                      first_clone_scope))
  summary_op = tf1.summary.merge(sorted(summaries, key=lambda s: s.name),
                                 name='summary_op')
  init_fn = fine_tune_init_fn(values.checkpoint_path,
                              values.checkpoint_exclude_scopes,
                              values.ignore_missing_vars, values.train_dir)
  done_ops = []
  if deployment.cluster is not None:
    with tf1.device(config.inputs_device()):
      done_ops = cluster_lib.done_signal_ops(deployment.cluster)
  validation = None
  if values.validation_split_name and deployment.is_chief:
    with tf1.device(config.inputs_device()):
      validation = validation_lib.build_validation(
          common_flags.data_spec(values, values.validation_split_name),
          common_flags.model_spec(values, values.train_image_size),
          common_flags.input_spec(values), model.num_classes, moving_average,
          values.quantize_delay)
  return TrainingGraph(train_tensor, summary_op, init_fn, provider.data_files,
                       global_step, sync_optimizer, done_ops, learning_rate,
                       validation, bad_records)


def _validator(graph, values):
  """The chief_step_fn that validates (and keeps the best), or None."""
  if graph.validation is None:
    return None
  best = None
  if values.keep_best_checkpoints:
    best = best_checkpoints.BestCheckpoints(
        os.path.join(values.train_dir, best_checkpoints.DIRNAME),
        values.keep_best_checkpoints)
  return validation_lib.Validator(
      graph.validation, values.train_dir,
      every_n_steps=values.validation_every_n_steps,
      every_n_secs=values.validation_every_n_secs, best=best)


def _warn_if_batch_norm_short(values):
  """Warns when the run ended short of what its batch-norm decay needs."""
  if not batch_norm.has_batch_norm(tf1.global_variables()):
    return
  latest = tf.train.latest_checkpoint(values.train_dir)
  if not latest:
    return
  step = tf.train.load_checkpoint(latest).get_tensor('global_step')
  warning = batch_norm.decay_warning(
      batch_norm.effective_decay(values.model_name, values.batch_norm_decay),
      int(step))
  if warning:
    logging.warning(warning)


def _step_callbacks(*sources):
  """One step_callback calling those of `sources` (None skipped), or None."""
  callbacks = [source.step_callback for source in sources
               if source is not None and source.step_callback is not None]
  if not callbacks:
    return None

  def step_callback(global_step, loss, seconds):
    for callback in callbacks:
      callback(global_step, loss, seconds)
  return step_callback


def train(values, deployment=None, flags_record=None):
  """Builds the graph and trains; returns the final loss.

  Args:
    values: the flag values.
    deployment: a training_cluster.Deployment; default: resolved from
      `values`. A cluster's worker starts its server here and waits for the
      parameter servers.
    flags_record: {flag: value} to write to <train_dir>/train_flags.json
      (chief only) once a resume is known to fit the graph; None writes
      nothing.
  """
  if deployment is None:
    deployment = resolve_deployment(values)
  with cli.user_input():
    deployment = training_cluster.start_worker(deployment)
  with tf.Graph().as_default():
    graph = build_training_graph(values, deployment)
    latest = deployment.is_chief and tf.train.latest_checkpoint(
        values.train_dir)
    if latest:
      restore.check_resume_fits(latest, values.train_dir, FLAGS_FILENAME)
    if deployment.is_chief and flags_record is not None:
      # Only now: a refused resume leaves the flags it was trained with.
      cli.write_json_atomic(os.path.join(values.train_dir, FLAGS_FILENAME),
                            flags_record)
    watch = training_cluster.watching_parameter_servers(deployment,
                                                        cli.exit_now)
    stalls = (training_cluster.stall_reporter(deployment,
                                              values.sync_wait_log_secs)
              if values.sync_replicas else None)
    validator = _validator(graph, values)
    bar = progress.step_bar(values.max_number_of_steps)
    try:
      with watch, bar, stalls or contextlib.nullcontext():
        loss = slim.learning.train(
            graph.train_tensor, logdir=values.train_dir,
            master=deployment.master, is_chief=deployment.is_chief,
            init_fn=graph.init_fn, summary_op=graph.summary_op,
            number_of_steps=values.max_number_of_steps,
            log_every_n_steps=values.log_every_n_steps,
            save_summaries_secs=values.save_summaries_secs,
            save_interval_secs=values.save_interval_secs,
            sync_optimizer=graph.sync_optimizer,
            session_config=compute.session_config(
                compute_flags.compute_spec(values),
                deployment.session_config()),
            ready_wait_secs=deployment.ready_wait_secs,
            examples_per_step=values.batch_size * values.num_clones,
            learning_rate=graph.learning_rate, chief_step_fn=validator,
            step_callback=_step_callbacks(bar, stalls))
      # Unwatched: once every worker has said so, the servers exit.
      training_cluster.signal_done_if_finished(
          deployment, graph.global_step, graph.done_ops,
          values.max_number_of_steps)
      if deployment.is_chief:
        _warn_if_batch_norm_short(values)
      if graph.bad_records.summary():
        logging.warning('Training %s.', graph.bad_records.summary())
      return loss
    except tf.errors.DataLossError as e:
      inputs.fail_unreadable(e, graph.data_files)
    except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError,
            tf.errors.AbortedError) as e:
      message = training_cluster.failure_message(deployment, e)
      if message is None:
        raise
      cli.fail(message)
    except slim.learning.NonFiniteLossError as e:
      cli.fail(f'The loss became NaN or Inf at global step {e.step}, so '
               'training stopped; try a lower --learning_rate. '
               + (f'The last good checkpoint is {e.checkpoint_path}.'
                  if e.checkpoint_path else 'No checkpoint was written.'))
    except tf.errors.InvalidArgumentError as e:
      inputs.fail_undecodable(e, graph.bad_records)
    finally:
      if validator is not None:
        validator.close()


def serve_parameters(deployment):
  """A parameter server's whole life; returns the exit status.

  Serves until every worker has finished (0), or until SIGTERM/SIGINT
  (128 + the signal).
  """
  stop = threading.Event()
  received = []

  def on_signal(signum, frame):
    del frame
    received.append(signum)
    stop.set()

  with signals.handling({signal.SIGINT: on_signal,
                         signal.SIGTERM: on_signal}):
    with cli.user_input():
      if training_cluster.serve_parameters(deployment, stop):
        return 0
  logging.info('Stopped by signal %d.', received[0])
  return 128 + received[0]


def main(argv):
  cli.check_no_arguments(argv)
  deployment = resolve_deployment(
      FLAGS, given={name for name in training_cluster.CLUSTER_DECIDES
                    if FLAGS[name].present})
  if deployment.is_parameter_server:
    training_cluster.exit_parameter_server(serve_parameters(deployment))
  if not FLAGS.dataset_dir:
    cli.fail('You must supply the dataset directory with --dataset_dir.')
  compute.check_precision(FLAGS.precision)
  compute.check_xla(FLAGS.xla)
  warning = optimization.epsilon_warning(FLAGS.optimizer,
                                         FLAGS['opt_epsilon'].present)
  if warning:
    logging.warning(warning)
  if deployment.is_chief:
    cli.ensure_writable_dir(FLAGS.train_dir, '--train_dir')
  # The chief alone writes checkpoints, so it alone holds the train_dir's
  # lock: the other workers share its run.
  lock = (run_lock.RunLock(FLAGS.train_dir) if deployment.is_chief
          else contextlib.nullcontext())
  with cli.noting_stop_signals() as signals, lock:
    loss = train(FLAGS, deployment,
                 flags_record=cli.module_flag_values(__name__))
  if signals:
    logging.info('Stopped by signal %d with a checkpoint in %s; run the same '
                 'command again to resume.', signals[0], FLAGS.train_dir)
    sys.exit(128 + signals[0])
  if loss is not None:
    logging.info('Finished training. Final loss: %.4f', loss)


if __name__ == '__main__':
  cli.run(main)
