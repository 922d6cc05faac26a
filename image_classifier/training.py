"""The training graph of train_image_classifier.py, built as named stages.

    check_settings -> global step -> build_inputs (image_classifier/
      model_on_split: the network's parts, the split's batches) -> build_clones
      -> rewrite_for_quantization -> train_summaries.model_summaries
      -> optimizer_chain.build_optimizer_chain (with the summaries of the
         learning rate, the total loss and the gradients)
      -> train_summaries.merge_summaries
      -> fine_tune_init_fn -> done_ops -> build_validation
      -> (all-reduce workers) add_initial_sync

Each stage takes plain values and records (image_classifier/specs.py's and
train_specs.py's) and returns what the next stage needs, so a test builds
any one of them alone on a tiny graph. `build_training_graph` runs them in
the order the graph has always been built in: node names (made unique in
creation order), devices and collections stay as they were. The helpers of
the training loop that read this graph (`validator`, `step_callbacks`,
`warn_if_batch_norm_short`) are here too.
"""
import collections
import contextlib
import dataclasses
import os

from absl import logging
import tensorflow as tf

import slim
from deployment import all_reduce
from deployment import cluster as cluster_lib
from deployment import model_deploy
from deployment import training_cluster
from image_classifier import batch_norm
from image_classifier import best_checkpoints
from image_classifier import cli
from image_classifier import inputs
from image_classifier import model_on_split
from image_classifier import network
from image_classifier import optimization
from image_classifier import optimizer_chain
from image_classifier import train_specs
from image_classifier import train_summaries
from image_classifier import validation as validation_lib

tf1 = tf.compat.v1


TrainingGraph = collections.namedtuple('TrainingGraph', [
    'train_tensor', 'summary_op', 'init_fn', 'data_files', 'global_step',
    'sync_optimizer', 'done_ops', 'learning_rate', 'validation',
    'bad_records', 'worker_variables'], defaults=(None, None, None, None))
TrainingGraph.__doc__ = """What train() runs: the train op, the summary op,
the fine-tuning init_fn (or None), the record files read, the global step,
the SyncReplicasOptimizer (or None), the ops that tell the parameter
servers this worker finished ([] without a cluster), the learning rate
tensor, the validation_lib.ValidationGraph (or None), the
inputs.BadRecords of the training input (--max_bad_records) and, on
all-reduce workers, the variables every worker holds alike (else None)."""


# ------------------------------------------------------------------- checks
def check_settings(spec):
  """Fails with one line for a training spec that cannot be built.

  Args:
    spec: a train_specs.TrainingSpec.
  """
  network.check_image_model(spec.model.model_name,
                            'train_image_classifier.py trains image models.')
  chain = spec.optimization
  with cli.user_input('--optimizer'):
    optimization.check_optimizer_name(chain.optimizer)
  with cli.user_input('--learning_rate_decay_type'):
    optimization.check_schedule_name(chain.decay_type)
  if chain.sync_replicas and chain.replicas_to_aggregate < 1:
    cli.fail('--replicas_to_aggregate must be at least 1; got '
             f'{chain.replicas_to_aggregate}.')
  batch_norm.check_decay(spec.network.batch_norm_decay)
  check_validation(spec.validation)


def check_validation(validation):
  """Fails with one line for inconsistent validation settings.

  Args:
    validation: a train_specs.ValidationSpec.
  """
  for name, value in (('validation_every_n_steps', validation.every_n_steps),
                      ('validation_every_n_secs', validation.every_n_secs),
                      ('keep_best_checkpoints',
                       validation.keep_best_checkpoints)):
    if value < 0:
      cli.fail(f'--{name} must be >= 0; received {value}.')
  if validation.keep_best_checkpoints and not validation.split_name:
    cli.fail('--keep_best_checkpoints ranks checkpoints by validation '
             'accuracy (mAP on multi-label data): give '
             '--validation_split_name too (e.g. validation).')


def check_placement(spec, placement):
  """Fails with one line for settings the placement cannot train with.

  Args:
    spec: a train_specs.TrainingSpec.
    placement: a train_specs.Placement.
  """
  if placement.collective is not None and spec.optimization.sync_replicas:
    cli.fail('--sync_replicas aggregates gradients on parameter servers; '
             'workers without --ps_hosts already train synchronously, with '
             'all-reduce: leave it out.')


# ------------------------------------------------------------------- inputs
def build_inputs(data, model, input_spec, net, augmentation=None, seed=None,
                 replica_id=0, device=''):
  """The training network's parts and the endless batches of its split.

  Args:
    data: the specs.DataSpec of the training split.
    model: the specs.ModelSpec.
    input_spec: the specs.InputSpec (batch_size is per clone).
    net: the train_specs.NetworkTraining (weight decay, batch-norm decay).
    augmentation: an augment.AugmentParams, or None for none.
    seed: the graph-level seed, or None.
    replica_id: this worker's replica; each one shuffles its own way.
    device: where the input pipeline runs.

  Returns:
    A model_on_split.ModelOnSplit without iterator or network applied:
    dataset, num_classes, network_fn, preprocessing_fn, image_size, the
    provider (its data_files), bad_records and the batches.
  """
  # Each replica shuffles its own way (with a seed, reproducibly).
  if seed is not None and replica_id:
    seed += replica_id
  reading = dataclasses.replace(model_on_split.TRAINING, seed=seed,
                                augmentation=augmentation)
  with tf1.device(device):
    return model_on_split.build(
        data, model, input_spec, is_training=True, reading=reading,
        network_kwargs=dict(weight_decay=net.weight_decay,
                            batch_norm_decay=net.batch_norm_decay))


# ------------------------------------------------------- clones and rewrites
def clone_fn(batches, network_fn, num_classes, label_smoothing,
             multi_label=False):
  """Builds one clone: network and losses on the next batch.

  The labels are class ids, or [batch, num_classes] soft labels when mixup
  or cutmix mixed them: a softmax cross-entropy. With `multi_label` they
  are [batch, num_classes] multi-hot vectors (mixed or not): a sigmoid
  cross-entropy per class. Either way the aux logits weigh 0.4.
  """
  images, labels = inputs.iterator_get_next(batches)
  if multi_label:
    loss_fn, targets = slim.losses.sigmoid_cross_entropy, labels
  else:
    loss_fn = slim.losses.softmax_cross_entropy
    targets = (labels if labels.shape.rank == 2
               else tf.one_hot(labels, num_classes))
  logits, end_points = network_fn(images)
  if 'AuxLogits' in end_points:
    loss_fn(end_points['AuxLogits'], targets,
            label_smoothing=label_smoothing, weights=0.4, scope='aux_loss')
  loss_fn(logits, targets, label_smoothing=label_smoothing, weights=1.0)
  end_points['images'] = images
  return end_points


def build_clones(config, batches, network_fn, num_classes, label_smoothing,
                 multi_label=False):
  """The model_deploy clones of `clone_fn`, one per device of `config`."""
  return model_deploy.create_clones(
      config, clone_fn,
      [batches, network_fn, num_classes, label_smoothing, multi_label])


def rewrite_for_quantization(quantize_delay, model_name):
  """Rewrites every clone's layers for quantization-aware training.

  Call it before any gradient is computed. Nothing happens for a
  quantize_delay below 0.
  """
  if quantize_delay < 0:
    return
  try:
    slim.quantize.create_training_graph(quant_delay=quantize_delay)
  except slim.quantize.UnsupportedLayerError as e:
    cli.fail(f'--quantize_delay: --model_name={model_name} cannot '
             f'be quantized: {e}')


# ---------------------------------------------------------------- fine-tune
def fine_tune_init_fn(fine_tune, train_dir):
  """fn(session) restoring the model variables not excluded, or None.

  None when there is no checkpoint_path, or when train_dir already holds a
  checkpoint (training then resumes from it instead).

  Args:
    fine_tune: a train_specs.FineTuneSpec.
    train_dir: the training folder.
  """
  if not fine_tune.checkpoint_path:
    return None
  if tf.train.latest_checkpoint(train_dir):
    logging.info('Ignoring --checkpoint_path because a checkpoint already '
                 'exists in %s', train_dir)
    return None
  exclusions = train_specs.split_scopes(fine_tune.exclude_scopes)
  to_restore = [v for v in slim.get_model_variables()
                if not any(v.op.name.startswith(e) for e in exclusions)]
  with cli.user_input('--checkpoint_path'):
    # Another run's best/: the best that its index.json lists.
    checkpoint_path = slim.variables.resolve_checkpoint_path(
        best_checkpoints.best_checkpoint(fine_tune.checkpoint_path)
        or fine_tune.checkpoint_path)
    slim.variables.check_checkpoint_readable(checkpoint_path)
    logging.info('Fine-tuning from %s', checkpoint_path)
    return slim.assign_from_checkpoint_fn(
        checkpoint_path, to_restore,
        ignore_missing_vars=fine_tune.ignore_missing_vars)


# ----------------------------------------------- cluster and validation
def done_ops(cluster, device=''):
  """The ops telling the parameter servers this worker finished ([] without
  a cluster)."""
  if cluster is None:
    return []
  with tf1.device(device):
    return cluster_lib.done_signal_ops(cluster)


def add_initial_sync(variables, collective, device=''):
  """Makes the session's local init op give every all-reduce worker the
  chief's `variables` (all_reduce.initial_sync_op), after the chief's
  restore or initialization; it also initializes the local variables and
  tables, as the default local init op does. The other workers run it
  without waiting for their variables to be initialized (by a chief, on
  parameter servers): it initializes them.

  Args:
    variables: the variables every worker holds, in the same order on each
      (the chief's validation variables left out).
    collective: the all_reduce.CollectiveGroup.
    device: where the broadcast runs.
  """
  tf1.add_to_collection(tf1.GraphKeys.LOCAL_INIT_OP, tf.group(
      tf1.local_variables_initializer(), tf1.tables_initializer(),
      all_reduce.initial_sync_op(variables, collective, device)))
  tf1.add_to_collection(tf1.GraphKeys.READY_FOR_LOCAL_INIT_OP,
                        tf.constant([], tf.string,
                                    name='ready_for_initial_sync'))


def build_validation(spec, num_classes, averages=None, device=''):
  """The validation_lib.ValidationGraph of spec.validation's split, or None.

  Args:
    spec: the train_specs.TrainingSpec (data, model, inputs and validation).
    num_classes: the class count the training network was built with.
    averages: the moving average of the weights, or None.
    device: where its input pipeline runs.
  """
  if not spec.validation.split_name:
    return None
  with tf1.device(device):
    return validation_lib.build_validation(
        spec.data.with_split(spec.validation.split_name), spec.model,
        spec.inputs, num_classes, averages, spec.network.quantize_delay)


# ------------------------------------------------------------ the pipeline
def build_training_graph(spec, placement):
  """Builds the training graph, stage by stage, in the current graph.

  Args:
    spec: a train_specs.TrainingSpec.
    placement: a train_specs.Placement.

  Returns:
    A TrainingGraph.
  """
  check_settings(spec)
  check_placement(spec, placement)
  if spec.seed is not None:
    tf1.set_random_seed(spec.seed)
  config = placement.config
  with tf1.device(config.variables_device()):
    global_step = slim.create_global_step()
  split = build_inputs(
      spec.data, spec.model, spec.inputs, spec.network, spec.augmentation,
      spec.seed, placement.replica_id, config.inputs_device())
  summaries = set(tf1.get_collection(tf1.GraphKeys.SUMMARIES))
  clones = build_clones(config, split.batches, split.network_fn,
                        split.num_classes, spec.network.label_smoothing,
                        model_on_split.is_multi_label(split.dataset))
  rewrite_for_quantization(spec.network.quantize_delay,
                           spec.model.model_name)
  first_clone_scope = config.clone_scope(0)
  summaries |= train_summaries.model_summaries(
      clones[0].outputs, first_clone_scope, spec.summaries.images)
  chain = optimizer_chain.build_optimizer_chain(
      clones, global_step, spec.optimization, spec.model,
      split.dataset.num_samples, spec.inputs.batch_size, placement,
      summarize_gradients=spec.summaries.gradients)
  summary_op = train_summaries.merge_summaries(summaries | chain.summaries,
                                               first_clone_scope)
  init_fn = fine_tune_init_fn(spec.fine_tune, spec.train_dir)
  done = done_ops(placement.cluster, config.inputs_device())
  # Before the chief's validation graph: the same list on every worker.
  worker_variables = (tf1.global_variables()
                      if placement.collective is not None else None)
  validation = None
  if placement.is_chief:
    validation = build_validation(spec, split.num_classes,
                                  chain.moving_average,
                                  config.inputs_device())
  if worker_variables is not None:
    add_initial_sync(worker_variables, placement.collective,
                     config.optimizer_device())
  return TrainingGraph(
      chain.train_tensor, summary_op, init_fn, split.provider.data_files,
      global_step, chain.sync_optimizer, done, chain.learning_rate,
      validation, split.bad_records, worker_variables)


# ------------------------------------------------- the training loop's helpers
def validator(validation_graph, train_dir, validation):
  """The chief_step_fn that validates (and keeps the best), or None.

  Args:
    validation_graph: the TrainingGraph's validation (None: no validation).
    train_dir: the training folder (validation.jsonl, best/ ...).
    validation: the train_specs.ValidationSpec.
  """
  if validation_graph is None:
    return None
  best = None
  if validation.keep_best_checkpoints:
    best = best_checkpoints.BestCheckpoints(
        os.path.join(train_dir, best_checkpoints.DIRNAME),
        validation.keep_best_checkpoints,
        metric=validation_lib.ranking_metric(
            validation_graph.tally_fetches is not None))
  return validation_lib.Validator(
      validation_graph, train_dir, every_n_steps=validation.every_n_steps,
      every_n_secs=validation.every_n_secs, best=best)


def warn_if_batch_norm_short(train_dir, model_name, batch_norm_decay):
  """Warns when the run ended short of what its batch-norm decay needs.

  Args:
    train_dir: the training folder (its latest checkpoint's step counts).
    model_name: the network (its own decay when batch_norm_decay is None).
    batch_norm_decay: the decay trained with, or None.
  """
  if not batch_norm.has_batch_norm(tf1.global_variables()):
    return
  latest = tf.train.latest_checkpoint(train_dir)
  if not latest:
    return
  step = slim.variables.checkpoint_reader(latest).get_tensor('global_step')
  warning = batch_norm.decay_warning(
      batch_norm.effective_decay(model_name, batch_norm_decay), int(step))
  if warning:
    logging.warning(warning)


def step_callbacks(*sources):
  """One step_callback calling those of `sources` (None skipped), or None."""
  callbacks = [source.step_callback for source in sources
               if source is not None and source.step_callback is not None]
  if not callbacks:
    return None

  def step_callback(global_step, loss, seconds):
    for callback in callbacks:
      callback(global_step, loss, seconds)
  return step_callback


@contextlib.contextmanager
def one_line_failures(graph, deployment):
  """Ends, in one line, what can stop a training run that is not a bug:
  an unreadable or undecodable record, a lost cluster task or master, a
  NaN or Inf loss.

  Args:
    graph: the TrainingGraph run inside (its data files and bad records
      name the culprit).
    deployment: the training_cluster.Deployment it runs on.
  """
  try:
    yield
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
