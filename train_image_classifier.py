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
DeploymentRequest and installs the parameter server's signal handlers.
Parameter servers serve until every worker has finished; worker task 0
is the chief (it initializes or restores, and alone writes checkpoints and
summaries). --sync_replicas aggregates
--replicas_to_aggregate gradients per update; otherwise workers update
asynchronously, and the global step still stops at exactly
--max_number_of_steps. Workers without parameter servers (--worker_hosts
and no --ps_hosts, or a TF_CONFIG without "ps") train synchronously with
all-reduce (deployment/all_reduce.py): a step waits at most
--all_reduce_timeout_secs for the others, and each worker logs a checksum
of its variables at the end.
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
from deployment import training_cluster
import flag_groups
from flag_groups import compute_flags
from flag_groups import training_flags
from image_classifier import cli
from image_classifier import compute
from image_classifier import optimization
from image_classifier import progress
from image_classifier import restore
from image_classifier import run_lock
from image_classifier import train_specs
from image_classifier import training
from slim import signals

training_flags.define_training_flags(__name__)
compute_flags.define_compute_flags(__name__)

FLAGS = flags.FLAGS

FLAGS_FILENAME = 'train_flags.json'


def resolve_deployment(values, given=None):
  """The training_cluster.Deployment that the flags (or TF_CONFIG) ask for.

  Args:
    values: the flag values.
    given: as `training_flags.deployment_request` takes it.

  Raises:
    cli.UserError: for a malformed or inconsistent cluster description.
  """
  with cli.user_input():
    return training_cluster.resolve(
        training_flags.deployment_request(values, given))


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
      distributed=deployment.distributed, cluster=deployment.cluster,
      collective=deployment.collective)
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
      with training.one_line_failures(graph, deployment), watch, bar, (
          stalls or contextlib.nullcontext()):
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
        training_cluster.log_variables_checksum(deployment,
                                                graph.worker_variables)
      if deployment.is_chief:
        training.warn_if_batch_norm_short(values.train_dir, values.model_name,
                                          values.batch_norm_decay)
      if graph.bad_records.summary():
        logging.warning('Training %s.', graph.bad_records.summary())
      return loss
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
  lock = (run_lock.lock_for(FLAGS.train_dir) if deployment.is_chief
          else contextlib.nullcontext())
  with cli.noting_stop_signals() as received, lock:
    loss = train(FLAGS, deployment,
                 flags_record=flag_groups.module_flag_values(__name__))
  if received:
    logging.info('Stopped by signal %d with a checkpoint in %s; run the same '
                 'command again to resume.', received[0], FLAGS.train_dir)
    sys.exit(128 + received[0])
  if loss is not None:
    logging.info('Finished training. Final loss: %.4f', loss)


if __name__ == '__main__':
  cli.run(main)
