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
from deployment import training_cluster
from flag_groups import common_flags
from flag_groups import compute_flags
from flag_groups import training_flags
from image_classifier import cli
from image_classifier import compute
from image_classifier import inputs
from image_classifier import optimization
from image_classifier import progress
from image_classifier import restore
from image_classifier import run_lock
from image_classifier import train_specs
from image_classifier import training
from preprocessing import augment

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


def build_training_graph(values, deployment=None):
  """Builds the training graph from flag values.

  Args:
    values: the flag values.
    deployment: a training_cluster.Deployment; default: resolved from
      `values`.

  Returns:
    A training.TrainingGraph.
  """
  if deployment is None:
    deployment = resolve_deployment(values)
  spec = training_flags.training_spec(values)
  with cli.user_input('--num_clones'):
    config = deployment.config(values.num_clones, values.clone_on_cpu)
  placement = train_specs.Placement(
      config=config, replica_id=deployment.replica_id,
      num_replicas=deployment.num_replicas,
      distributed=deployment.distributed, cluster=deployment.cluster)
  return training.build_training_graph(spec, placement)


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
    validator = training.validator(graph.validation, values.train_dir,
                                   training_flags.validation_spec(values))
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
            step_callback=training.step_callbacks(bar, stalls))
      # Unwatched: once every worker has said so, the servers exit.
      training_cluster.signal_done_if_finished(
          deployment, graph.global_step, graph.done_ops,
          values.max_number_of_steps)
      if deployment.is_chief:
        training.warn_if_batch_norm_short(values.train_dir, values.model_name,
                                          values.batch_norm_decay)
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
