"""train_image_classifier.py's flags, turned into the records its training
graph is built from (image_classifier/train_specs.py).

The script defines the flags; these functions read them, one record each,
naming every field, so that nothing below the script sees a flag object.
`augment_params` also serves the tools that take the same augmentation
flags (tools/dump_images.py, benchmarks/bench_input.py).
"""
import os

from absl import flags

import flag_groups
from deployment import training_cluster
from flag_groups import common_flags
from image_classifier import cli
from image_classifier import optimization
from image_classifier import train_specs
from preprocessing import augment


def define_training_flags(module_name):
  """Defines train_image_classifier.py's flags (but for the compute flags,
  `compute_flags.define_compute_flags`): the original script's, with their
  defaults and help (compat/upstream_flags.md), and the new ones marked
  (new).

  Args:
    module_name: the script's `__name__`, so that --help lists the flags
      under it and `flag_groups.module_flag_values` records them.
  """
  module_name = flag_groups.flags_module_name(module_name)
  _define_deployment_flags(module_name)
  _define_optimizer_flags(module_name)
  _define_learning_rate_flags(module_name)
  _define_dataset_flags(module_name)
  _define_augmentation_flags(module_name)
  _define_fine_tuning_flags(module_name)
  _define_summaries_flags(module_name)
  _define_validation_and_batch_norm_flags(module_name)


def _define_deployment_flags(module_name):
  """The deployment flags."""
  flags.DEFINE_string('master', '', 'The address of the TensorFlow master to '
                      'use ("" runs in-process, or on the server the cluster '
                      'flags start).', module_name=module_name)
  flags.DEFINE_string('train_dir', '/tmp/tfmodel/',
                      'Directory where checkpoints and event logs are written.',
                      module_name=module_name)
  flags.DEFINE_float('warmup_epochs', 0, 'Linearly warm up the learning rate '
                     'from 0 over this many epochs (0: no warm-up).',
                     module_name=module_name)
  flags.DEFINE_integer('num_clones', 1, 'Number of model clones to deploy '
                       '(one per GPU; several on the CPU with --clone_on_cpu).',
                       module_name=module_name)
  flags.DEFINE_boolean('clone_on_cpu', False, 'Use CPUs to deploy clones.',
                       module_name=module_name)
  flags.DEFINE_integer('worker_replicas', 1, 'Number of worker replicas '
                       '(with a cluster: its number of workers).',
                       module_name=module_name)
  flags.DEFINE_integer('num_ps_tasks', 0, 'Number of parameter servers; 0 '
                       'keeps variables on the worker (with a cluster: its '
                       'number of ps tasks).', module_name=module_name)
  flags.DEFINE_integer('num_readers', 4, 'Number of TFRecord files read in '
                       'parallel.', module_name=module_name)
  flags.DEFINE_integer('log_every_n_steps', 10,
                       'How often (in steps) the loss is logged.',
                       module_name=module_name)
  flags.DEFINE_integer('save_summaries_secs', 600,
                       'How often (in seconds) summaries are saved.',
                       module_name=module_name)
  flags.DEFINE_integer('save_interval_secs', 600,
                       'How often (in seconds) the model is checkpointed.',
                       module_name=module_name)
  flags.DEFINE_integer('task', 0, 'Task id of the replica running the '
                       'training (with --job_name: the index in that job).',
                       module_name=module_name)
  flags.DEFINE_string('ps_hosts', '', 'Cluster: comma-separated host:port of '
                      'the parameter servers (new).', module_name=module_name)
  flags.DEFINE_string('worker_hosts', '', 'Cluster: comma-separated host:port '
                      'of the workers; task 0 is the chief (new).',
                      module_name=module_name)
  flags.DEFINE_string('job_name', None, 'Cluster: this process\'s job, ps '
                      'or worker. Without the host flags, the cluster is read '
                      'from the TF_CONFIG environment variable (new).',
                      module_name=module_name)
  flags.DEFINE_integer('cluster_startup_timeout_secs', 300, 'Cluster: seconds '
                       'to wait for the parameter servers (and, on the other '
                       'workers, for the chief to initialize the model) '
                       'before giving up (new).', module_name=module_name)
  flags.DEFINE_float('all_reduce_timeout_secs', 600, 'Cluster of workers '
                     'without parameter servers (all-reduce): seconds a '
                     'step waits for the other workers before it ends naming '
                     'the lost one; longer than the chief\'s checkpoint and '
                     'validation pauses (new).', module_name=module_name)


def _define_optimizer_flags(module_name):
  """The optimizer flags."""
  flags.DEFINE_float('weight_decay', 0.00004,
                     'The weight decay on the model weights.',
                     module_name=module_name)
  flags.DEFINE_string('optimizer', 'rmsprop', 'The optimizer: one of '
                      + ', '.join(optimization.OPTIMIZER_NAMES) + '.',
                      module_name=module_name)
  flags.DEFINE_float('adadelta_rho', 0.95, 'The decay rate for adadelta.',
                     module_name=module_name)
  flags.DEFINE_float('adagrad_initial_accumulator_value', 0.1,
                     'Starting value for the AdaGrad accumulators.',
                     module_name=module_name)
  flags.DEFINE_float('adam_beta1', 0.9,
                     'The exponential decay rate for the 1st moment estimates.',
                     module_name=module_name)
  flags.DEFINE_float('adam_beta2', 0.999,
                     'The exponential decay rate for the 2nd moment estimates.',
                     module_name=module_name)
  flags.DEFINE_float('opt_epsilon', 1.0, 'Epsilon term for the optimizer.',
                     module_name=module_name)
  flags.DEFINE_float('ftrl_learning_rate_power', -0.5,
                     'The learning rate power.', module_name=module_name)
  flags.DEFINE_float('ftrl_initial_accumulator_value', 0.1,
                     'Starting value for the FTRL accumulators.',
                     module_name=module_name)
  flags.DEFINE_float('ftrl_l1', 0.0, 'The FTRL l1 regularization strength.',
                     module_name=module_name)
  flags.DEFINE_float('ftrl_l2', 0.0, 'The FTRL l2 regularization strength.',
                     module_name=module_name)
  flags.DEFINE_float('momentum', 0.9,
                     'The momentum for the MomentumOptimizer.',
                     module_name=module_name)
  flags.DEFINE_boolean('nesterov', False, 'Use Nesterov momentum with '
                       '--optimizer=momentum (new).', module_name=module_name)
  flags.DEFINE_float('adamw_weight_decay', 0.01, 'Decoupled weight decay of '
                     '--optimizer=adamw, applied to kernels only (new).',
                     module_name=module_name)
  flags.DEFINE_float('rmsprop_momentum', 0.9, 'Momentum of RMSProp.',
                     module_name=module_name)
  flags.DEFINE_float('rmsprop_decay', 0.9, 'Decay term for RMSProp.',
                     module_name=module_name)
  flags.DEFINE_integer('quantize_delay', -1, 'Step at which '
                       'quantization-aware training starts (batch norms '
                       'folded, 8-bit fake quantization as tf.contrib.quantize '
                       'did; ranges tracked from step 0); -1 disables it.',
                       module_name=module_name)


def _define_learning_rate_flags(module_name):
  """The learning rate flags."""
  flags.DEFINE_string('learning_rate_decay_type', 'exponential',
                      'How the learning rate decays: one of '
                      + ', '.join(optimization.SCHEDULE_NAMES) + '.',
                      module_name=module_name)
  flags.DEFINE_float('learning_rate', 0.01, 'Initial learning rate.',
                     module_name=module_name)
  flags.DEFINE_float('end_learning_rate', 0.0001, 'The minimal end learning '
                     'rate used by a polynomial or cosine decay learning rate.',
                     module_name=module_name)
  flags.DEFINE_float('label_smoothing', 0.0, 'The amount of label smoothing.',
                     module_name=module_name)
  flags.DEFINE_float('learning_rate_decay_factor', 0.94,
                     'Learning rate decay factor.', module_name=module_name)
  flags.DEFINE_float('num_epochs_per_decay', 2.0,
                     'Number of epochs after which the learning rate decays '
                     '(cosine: its span when --max_number_of_steps is None).',
                     module_name=module_name)
  flags.DEFINE_bool('sync_replicas', False, 'Whether to use the '
                    'SyncReplicasOptimizer: each update aggregates '
                    '--replicas_to_aggregate gradients.',
                    module_name=module_name)
  flags.DEFINE_integer('replicas_to_aggregate', 1, 'The number of gradients to '
                       'collect before updating params.',
                       module_name=module_name)
  flags.DEFINE_integer('sync_wait_log_secs', 60, 'Cluster with '
                       '--sync_replicas: when no step has finished for this '
                       'long, log which tasks the step waits for, and again '
                       'every as long (new).', module_name=module_name)


def _define_dataset_flags(module_name):
  """The dataset flags."""
  common_flags.define_dataset_flags(module_name, dataset_split_name='train')
  common_flags.define_model_flags(module_name, quantize=False)
  common_flags.define_input_flags(module_name, batch_size=32)
  common_flags.define_image_size_flag(module_name, 'train_image_size')
  flags.DEFINE_integer('max_number_of_steps', None, 'The maximum number of '
                       'training steps; None trains forever.',
                       module_name=module_name)
  flags.DEFINE_integer('seed', None, 'Graph-level random seed (new).',
                       module_name=module_name)


def _define_augmentation_flags(module_name):
  """The augmentation flags."""
  flags.DEFINE_integer('randaugment_layers', 0, 'RandAugment: ops applied to '
                       'each training image, before its preprocessing (N); 0: '
                       'no RandAugment (new).', module_name=module_name)
  flags.DEFINE_integer('randaugment_magnitude', 10, 'RandAugment: magnitude M '
                       f'of every op, 0 to {augment.MAX_MAGNITUDE} (new).',
                       module_name=module_name)
  flags.DEFINE_float('random_erasing', 0.0, 'Probability of erasing a random '
                     'rectangle of each preprocessed training image with '
                     'noise; 0: never (new).', module_name=module_name)
  flags.DEFINE_float('mixup_alpha', 0.0, 'mixup: Beta(alpha, alpha) weight of '
                     'each batch mixed with itself reversed, labels mixed '
                     'alike; 0: no mixup (new).', module_name=module_name)
  flags.DEFINE_float('cutmix_alpha', 0.0, 'cutmix: Beta(alpha, alpha) of the '
                     'area kept when a box of the reversed batch is pasted in; '
                     'with --mixup_alpha too, each batch gets one of the two; '
                     '0: no cutmix (new).', module_name=module_name)


def _define_fine_tuning_flags(module_name):
  """The fine-tuning flags."""
  flags.DEFINE_string('checkpoint_path', None, 'The checkpoint (file or '
                      'directory) to fine-tune from.', module_name=module_name)
  flags.DEFINE_string('checkpoint_exclude_scopes', None, 'Comma-separated '
                      'scopes of variables not restored from the checkpoint.',
                      module_name=module_name)
  flags.DEFINE_string('trainable_scopes', None, 'Comma-separated scopes of the '
                      'variables to train; None trains all.',
                      module_name=module_name)
  flags.DEFINE_boolean('ignore_missing_vars', False, 'Skip variables missing '
                       'from the checkpoint instead of failing.',
                       module_name=module_name)


def _define_summaries_flags(module_name):
  """The summaries flags."""
  flags.DEFINE_boolean('summarize_images', False, 'Add the input images to the '
                       'TensorBoard summaries (new).', module_name=module_name)
  flags.DEFINE_boolean('summarize_gradients', False, 'Add gradient histograms '
                       'to the TensorBoard summaries (new).',
                       module_name=module_name)


def _define_validation_and_batch_norm_flags(module_name):
  """The validation and batch norm flags."""
  flags.DEFINE_string('validation_split_name', None, 'Evaluate the current '
                      'weights on this split while training (chief only); '
                      'None: no validation (new).', module_name=module_name)
  flags.DEFINE_integer('validation_every_n_steps', 0, 'Validate when the '
                       'global step is a multiple of this; 0 uses '
                       '--validation_every_n_secs (new).',
                       module_name=module_name)
  flags.DEFINE_integer('validation_every_n_secs', 600, 'Validate when this '
                       'many seconds passed since the last validation (with '
                       '--validation_every_n_steps=0); validation also runs '
                       'at the end of training (new).', module_name=module_name)
  flags.DEFINE_integer('keep_best_checkpoints', 0, 'Keep copies of the N best '
                       'checkpoints by validation Accuracy (mAP on '
                       'multi-label data), with their metrics, in '
                       '<train_dir>/best/; 0 keeps none (new).',
                       module_name=module_name)
  flags.DEFINE_float('batch_norm_decay', None, 'Decay of the batch-norm moving '
                     'statistics; None: the network\'s own (e.g. 0.9997). '
                     'Short runs want a smaller one, about 1 - 3/steps '
                     '(new).', module_name=module_name)


def augment_params(values):
  """The augment.AugmentParams of --randaugment_layers,
  --randaugment_magnitude, --random_erasing, --mixup_alpha and
  --cutmix_alpha; one line for a value out of its range."""
  with cli.user_input():
    return augment.AugmentParams(
        randaugment_layers=values.randaugment_layers,
        randaugment_magnitude=values.randaugment_magnitude,
        random_erasing=values.random_erasing,
        mixup_alpha=values.mixup_alpha, cutmix_alpha=values.cutmix_alpha)


def optimizer_params(values):
  """The optimization.OptimizerParams of the optimizers' flags."""
  return optimization.OptimizerParams(
      adadelta_rho=values.adadelta_rho,
      adagrad_initial_accumulator_value=(
          values.adagrad_initial_accumulator_value),
      adam_beta1=values.adam_beta1, adam_beta2=values.adam_beta2,
      opt_epsilon=values.opt_epsilon,
      ftrl_learning_rate_power=values.ftrl_learning_rate_power,
      ftrl_initial_accumulator_value=values.ftrl_initial_accumulator_value,
      ftrl_l1=values.ftrl_l1, ftrl_l2=values.ftrl_l2,
      momentum=values.momentum, rmsprop_momentum=values.rmsprop_momentum,
      rmsprop_decay=values.rmsprop_decay, nesterov=values.nesterov,
      adamw_weight_decay=values.adamw_weight_decay)


def schedule_params(values):
  """The optimization.ScheduleParams of the learning-rate flags."""
  return optimization.ScheduleParams(
      learning_rate=values.learning_rate,
      end_learning_rate=values.end_learning_rate,
      learning_rate_decay_factor=values.learning_rate_decay_factor,
      num_epochs_per_decay=values.num_epochs_per_decay,
      warmup_epochs=values.warmup_epochs)


def optimization_spec(values):
  """The train_specs.OptimizationSpec of --optimizer and its parameters,
  the learning-rate flags, --max_number_of_steps, --sync_replicas,
  --replicas_to_aggregate and --trainable_scopes."""
  return train_specs.OptimizationSpec(
      optimizer=values.optimizer, optimizer_params=optimizer_params(values),
      decay_type=values.learning_rate_decay_type,
      schedule=schedule_params(values),
      max_number_of_steps=values.max_number_of_steps,
      sync_replicas=values.sync_replicas,
      replicas_to_aggregate=values.replicas_to_aggregate,
      trainable_scopes=values.trainable_scopes)


def network_training(values):
  """The train_specs.NetworkTraining of --weight_decay,
  --batch_norm_decay, --label_smoothing and --quantize_delay."""
  return train_specs.NetworkTraining(
      weight_decay=values.weight_decay,
      batch_norm_decay=values.batch_norm_decay,
      label_smoothing=values.label_smoothing,
      quantize_delay=values.quantize_delay)


def validation_spec(values):
  """The train_specs.ValidationSpec of --validation_split_name,
  --validation_every_n_steps, --validation_every_n_secs and
  --keep_best_checkpoints."""
  return train_specs.ValidationSpec(
      split_name=values.validation_split_name,
      every_n_steps=values.validation_every_n_steps,
      every_n_secs=values.validation_every_n_secs,
      keep_best_checkpoints=values.keep_best_checkpoints)


def training_spec(values):
  """The train_specs.TrainingSpec of all the training flags.

  Raises:
    cli.UserError: for an augmentation flag out of its range.
  """
  return train_specs.TrainingSpec(
      data=common_flags.data_spec(values),
      model=common_flags.model_spec(values,
                                    image_size=values.train_image_size),
      inputs=common_flags.input_spec(values),
      network=network_training(values),
      optimization=optimization_spec(values),
      train_dir=values.train_dir, seed=values.seed,
      augmentation=augment_params(values),
      summaries=train_specs.SummarySpec(
          images=values.summarize_images,
          gradients=values.summarize_gradients),
      fine_tune=train_specs.FineTuneSpec(
          checkpoint_path=values.checkpoint_path,
          exclude_scopes=values.checkpoint_exclude_scopes,
          ignore_missing_vars=values.ignore_missing_vars),
      validation=validation_spec(values))


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
      startup_timeout_secs=values.cluster_startup_timeout_secs,
      all_reduce_timeout_secs=values.all_reduce_timeout_secs)
