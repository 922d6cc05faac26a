"""Evaluates a trained image classifier: the research/slim command line.

    python eval_image_classifier.py \
      --checkpoint_path=/tmp/shapes-cifarnet --eval_dir=/tmp/shapes-eval \
      --dataset_name=shapes --dataset_split_name=validation \
      --dataset_dir=/tmp/shapes --model_name=cifarnet

Streams top-1 `Accuracy` and top-5 `Recall_5` over the split (each example
counted once; --max_num_batches evaluates fewer), shows a progress bar,
prints one `Name: value` line per metric, writes TensorBoard summaries
(`eval/Accuracy`, `eval/Recall_5`) at the checkpoint's global step and
`<eval_dir>/metrics.json` with the values, the global step and the
checkpoint. On a multi-label dataset (several labels per image, e.g.
shapes_multi) it reports `mAP`, `F1_micro` and `F1_macro` instead, with
precision and recall (micro and macro) at --threshold in metrics.json and
the summaries, and AP, precision, recall and F1 per class in the report. --checkpoint_path may be a file prefix or a directory (its
latest checkpoint; for <train_dir>/best, the best that its index.json
lists). --wait_for_checkpoints evaluates every new checkpoint
of the directory as training writes it.

It also writes a report of the same examples into --eval_dir (see
image_classifier/eval_report.py): per_class.json (precision, recall,
support), confusion_matrix.json and .png, with --report_misclassified=N
misclassified.json (the N most confident mistakes and their record keys),
and index.html showing it all on one page.

--recompute_batch_norm_statistics=N first re-estimates every batch norm's
moving statistics on N batches of --batch_norm_split_name (the training
split), as exact means over those batches (image_classifier/batch_norm.py),
then evaluates with them; metrics.json says so, and the checkpoint with the
recomputed statistics is saved under <eval_dir>/batch_norm_recomputed/ for
export (export_saved_model, freeze_graph).
"""
import os

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags
import tensorflow as tf

import slim
from flag_groups import common_flags
from flag_groups import compute_flags
from image_classifier import best_checkpoints
from image_classifier import cli
from image_classifier import compute
from image_classifier import eval_report
from image_classifier import evaluation
from image_classifier import validation

# ------------------------------------------------------- original flags
flags.DEFINE_integer('max_num_batches', None, 'Max number of batches to '
                     'evaluate; by default the whole split.')
flags.DEFINE_string('master', '', 'The address of the TensorFlow master.')
flags.DEFINE_string('checkpoint_path', '/tmp/tfmodel/', 'The checkpoint, or '
                    'a directory whose latest checkpoint is evaluated.')
flags.DEFINE_string('eval_dir', '/tmp/tfmodel/', 'Directory where the '
                    'results (summaries, metrics.json) are saved.')
common_flags.define_dataset_flags(__name__, dataset_split_name='test')
common_flags.define_model_flags(__name__)
common_flags.define_input_flags(__name__, batch_size=100)
common_flags.define_image_size_flag(__name__, 'eval_image_size')

# ------------------------------------------------------------ new flags
flags.DEFINE_bool('wait_for_checkpoints', False, 'Keep evaluating each new '
                  'checkpoint in --checkpoint_path (a directory) as '
                  'training writes it.')
flags.DEFINE_integer('eval_interval_secs', 60, 'With --wait_for_checkpoints: '
                     'minimum seconds between two evaluations.')
flags.DEFINE_integer('eval_timeout_secs', None, 'With '
                     '--wait_for_checkpoints: stop after this many seconds '
                     'without a new checkpoint.')
flags.DEFINE_integer('max_number_of_evaluations', None, 'With '
                     '--wait_for_checkpoints: stop after this many '
                     'evaluations.')
flags.DEFINE_bool('progress_bar', True, 'Show a progress bar over batches '
                  'when stderr is a terminal.')
flags.DEFINE_integer('report_misclassified', 0, 'List the N most confident '
                     'mistakes (with their record keys) in '
                     'misclassified.json and index.html; 0 lists none.')
flags.DEFINE_integer('recompute_batch_norm_statistics', 0, 'Before '
                     'evaluating, re-estimate the batch-norm moving '
                     'statistics as the exact means over this many batches '
                     'of --batch_norm_split_name (for a checkpoint trained '
                     'too briefly for its batch-norm decay); 0: use the '
                     'checkpoint\'s.')
flags.DEFINE_string('batch_norm_split_name', 'train', 'The split that '
                    '--recompute_batch_norm_statistics draws batches from.')
flags.DEFINE_float('threshold', 0.5, 'On a multi-label dataset: a class is '
                   'predicted where its probability is above this '
                   '(precision, recall, F1; mAP does not depend on it).')

compute_flags.define_compute_flags(__name__)

FLAGS = flags.FLAGS

METRICS_FILENAME = 'metrics.json'


def eval_spec(values):
  """The EvalSpec of the evaluation-only flags."""
  return evaluation.EvalSpec(
      eval_dir=values.eval_dir, master=values.master,
      max_num_batches=values.max_num_batches,
      report_misclassified=values.report_misclassified,
      recompute_batch_norm_statistics=values.recompute_batch_norm_statistics,
      batch_norm_split_name=values.batch_norm_split_name,
      progress_bar=values.progress_bar, threshold=values.threshold)


def _records(values):
  """(DataSpec, ModelSpec, InputSpec, EvalSpec) of the flag values."""
  return (common_flags.data_spec(values),
          common_flags.model_spec(values, image_size=values.eval_image_size),
          common_flags.input_spec(values), eval_spec(values))


def build_eval_graph(values):
  """Builds input, network and metrics in the current graph; returns an
  evaluation.EvalGraph."""
  return evaluation.build_eval_graph(*_records(values))


def evaluate(values, checkpoint_path):
  """Evaluates one checkpoint; returns {metric: value} plus step and path."""
  return evaluate_with_report(values, checkpoint_path).metrics


def evaluate_with_report(values, checkpoint_path):
  """Evaluates one checkpoint and tallies the report of its examples;
  returns an evaluation.Evaluation."""
  data, model, input_spec, spec = _records(values)
  return evaluation.evaluate_with_report(
      data, model, input_spec, compute_flags.compute_spec(values), spec,
      checkpoint_path)


def report(result, eval_dir):
  """Prints `Name: value` lines and writes metrics.json atomically."""
  names = (('mAP', 'F1_micro', 'F1_macro') if 'mAP' in result
           else ('Accuracy', 'Recall_5'))
  for name in names:
    print(f'{name}: {validation.format_figure(result[name])}', flush=True)
  cli.write_json_atomic(os.path.join(eval_dir, METRICS_FILENAME), result)


def write_report(evaluation, eval_dir):
  """Writes the report files (eval_report.write_report), names the page."""
  eval_report.write_report(eval_dir, evaluation.metrics, evaluation.tally,
                           evaluation.class_names)
  print(f'Report: {os.path.join(eval_dir, eval_report.INDEX_FILENAME)}',
        flush=True)


def checkpoints_to_evaluate(values):
  """The checkpoint prefixes to evaluate, one or a stream of new ones."""
  if not values.wait_for_checkpoints:
    with cli.user_input('--checkpoint_path'):
      # <train_dir>/best: the best that its index.json lists, the truth
      # even where a kill left its state file behind.
      best = best_checkpoints.best_checkpoint(values.checkpoint_path)
      yield slim.variables.resolve_checkpoint_path(
          best or values.checkpoint_path)
    return
  if not tf.io.gfile.isdir(values.checkpoint_path):
    cli.fail('--wait_for_checkpoints needs --checkpoint_path to be the '
             f'training directory; {values.checkpoint_path} is not a '
             'directory.')
  yield from slim.evaluation.checkpoints_iterator(
      values.checkpoint_path, min_interval_secs=values.eval_interval_secs,
      timeout=values.eval_timeout_secs)


def main(argv):
  cli.check_no_arguments(argv)
  if not FLAGS.dataset_dir:
    cli.fail('You must supply the dataset directory with --dataset_dir.')
  compute.check_precision(FLAGS.precision)
  compute.check_xla(FLAGS.xla)
  if FLAGS.report_misclassified < 0:
    cli.fail('--report_misclassified must be >= 0 (the number of mistakes '
             f'to list, 0 for none); received {FLAGS.report_misclassified}.')
  cli.ensure_writable_dir(FLAGS.eval_dir, '--eval_dir')
  for count, checkpoint_path in enumerate(checkpoints_to_evaluate(FLAGS), 1):
    evaluation = evaluate_with_report(FLAGS, checkpoint_path)
    report(evaluation.metrics, FLAGS.eval_dir)
    write_report(evaluation, FLAGS.eval_dir)
    if (FLAGS.max_number_of_evaluations
        and count >= FLAGS.max_number_of_evaluations):
      break


if __name__ == '__main__':
  cli.run(main)
