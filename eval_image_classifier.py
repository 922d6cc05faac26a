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
checkpoint. --checkpoint_path may be a file prefix or a directory (its
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
import collections
import math
import os
import sys

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags
import tensorflow as tf
import tqdm

import slim
from image_classifier import batch_norm
from image_classifier import best_checkpoints
from image_classifier import cli
from image_classifier import compute
from image_classifier import eval_report
from image_classifier import inputs
from image_classifier import network
from image_classifier import restore
from flag_groups import common_flags
from flag_groups import compute_flags
from image_classifier import validation

tf1 = tf.compat.v1

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

compute_flags.define_compute_flags(__name__)

FLAGS = flags.FLAGS

METRICS_FILENAME = 'metrics.json'
RECOMPUTED_DIRNAME = 'batch_norm_recomputed'


def checkpoint_global_step(checkpoint_path):
  """The global step stored in a checkpoint (0 if it has none)."""
  reader = tf.train.load_checkpoint(checkpoint_path)
  if reader.has_tensor('global_step'):
    return int(reader.get_tensor('global_step'))
  return 0


EvalGraph = collections.namedtuple(
    'EvalGraph',
    ['names_to_values', 'names_to_updates', 'variables_to_restore',
     'provider', 'num_batches', 'report_fetches', 'class_names',
     'recompute_hook', 'bad_records'], defaults=(None, None))

Evaluation = collections.namedtuple('Evaluation',
                                    ['metrics', 'tally', 'class_names'])


def quantize_inference_graph(model_name):
  """Rewrites the network just built as create_eval_graph did.

  Raises:
    cli.UserError: naming the layer, for a network it cannot quantize.
  """
  try:
    slim.quantize.create_eval_graph()
  except slim.quantize.UnsupportedLayerError as e:
    cli.fail(f'--quantize: --model_name={model_name} cannot be quantized: '
             f'{e}')


def build_eval_graph(values):
  """Builds input, network and metrics in the current graph.

  Returns:
    An EvalGraph: the metric values and update ops, the variables to
    restore, the provider, num_batches (the number of batches the bar
    shows), report_fetches (the batch tensors an eval_report.Tally takes:
    labels, predictions and, with --report_misclassified, confidences and
    record keys), the class names, with
    --recompute_batch_norm_statistics the batch_norm.RecomputeHook, and
    the inputs.BadRecords of the input (--max_bad_records).
  """
  network.check_image_model(values.model_name,
                            'eval_image_classifier.py evaluates image models.')
  global_step = slim.get_or_create_global_step()
  model = network.model_inputs(values, is_training=False,
                               image_size=values.eval_image_size)
  with cli.user_input('--max_bad_records'):
    bad_records = inputs.BadRecords(values.max_bad_records)
  with cli.user_input('--dataset_dir'):
    provider = inputs.eval_provider(model.dataset, values.batch_size,
                                    bad_records)
  batches = inputs.batched(
      provider, model.preprocessing_fn, model.image_size, values.batch_size,
      labels_offset=values.labels_offset,
      num_threads=values.num_preprocessing_threads, drop_remainder=False,
      with_keys=True)
  images, labels, keys = inputs.iterator_get_next(batches)
  logits, _ = model.network_fn(images)
  if values.quantize:
    quantize_inference_graph(values.model_name)

  if values.moving_average_decay:
    averages = tf1.train.ExponentialMovingAverage(values.moving_average_decay,
                                                  global_step)
    variables_to_restore = averages.variables_to_restore(
        slim.get_model_variables())
    variables_to_restore[global_step.op.name] = global_step
  else:
    variables_to_restore = slim.get_variables_to_restore()

  predictions = tf.argmax(logits, 1)
  names_to_values, names_to_updates = validation.classification_metrics(
      logits, labels)
  for name, value in names_to_values.items():
    tf1.summary.scalar('eval/' + name, value)

  report_fetches = {'labels': labels, 'predictions': predictions}
  if values.report_misclassified > 0:
    report_fetches['confidences'] = tf.reduce_max(
        tf.nn.softmax(tf.cast(logits, tf.float32)), axis=1)
    report_fetches['keys'] = keys

  num_batches = math.ceil(model.dataset.num_samples / values.batch_size)
  if values.max_num_batches:
    num_batches = min(num_batches, values.max_num_batches)
  names = eval_report.class_names(model.dataset.labels_to_names,
                                  model.num_classes, values.labels_offset)
  recompute_hook = None
  if values.recompute_batch_norm_statistics:
    if values.recompute_batch_norm_statistics < 0:
      cli.fail('--recompute_batch_norm_statistics must be >= 0 (a number '
               'of batches); received '
               f'{values.recompute_batch_norm_statistics}.')
    ops = batch_norm.build_recompute(
        values, values.recompute_batch_norm_statistics,
        values.batch_norm_split_name, model.image_size, model.num_classes)
    saver = tf1.train.Saver(
        {v.op.name: v for v in slim.get_model_variables() + [global_step]},
        max_to_keep=1)
    recompute_hook = batch_norm.RecomputeHook(
        ops, saver, os.path.join(values.eval_dir, RECOMPUTED_DIRNAME,
                                 'model.ckpt'))
  return EvalGraph(names_to_values, names_to_updates, variables_to_restore,
                   provider, num_batches, report_fetches, names,
                   recompute_hook, bad_records)


class _TallyHook(tf1.train.SessionRunHook):
  """Feeds every evaluated batch to an eval_report.Tally.

  Its fetches run in the same session.run as the metric updates, so the
  report counts exactly the examples that Accuracy counts.
  """

  def __init__(self, fetches, tally):
    self._fetches = fetches
    self._tally = tally

  def before_run(self, run_context):
    del run_context
    return tf1.train.SessionRunArgs(self._fetches)

  def after_run(self, run_context, run_values):
    del run_context
    self._tally.add(**run_values.results)


def evaluate(values, checkpoint_path):
  """Evaluates one checkpoint; returns {metric: value} plus step and path."""
  return evaluate_with_report(values, checkpoint_path).metrics


def evaluate_with_report(values, checkpoint_path):
  """Evaluates one checkpoint and tallies the report of its examples.

  Returns:
    An Evaluation: metrics ({metric: value} plus global_step and
    checkpoint, the metrics.json content), the filled eval_report.Tally
    and the class names.
  """
  with tf.Graph().as_default():
    graph = build_eval_graph(values)
    tally = eval_report.Tally(len(graph.class_names),
                              top_n=values.report_misclassified)
    restore.check_checkpoint_fits(
        checkpoint_path, graph.variables_to_restore,
        f'--checkpoint_path={checkpoint_path}',
        f'Check --model_name={values.model_name}, --dataset_name and '
        '--labels_offset' + (
            '; --moving_average_decay needs a checkpoint trained with it'
            if values.moving_average_decay else '') + (
                '; --quantize needs a checkpoint trained with '
                'train_image_classifier.py --quantize_delay'
                if values.quantize else '') + '.')
    # disable=None: on a terminal only; in a log file or a pipe the bar's
    # carriage-return redraws would be lines of their own.
    bar = tqdm.tqdm(total=graph.num_batches, desc='eval', unit='batch',
                    disable=None if values.progress_bar else True,
                    file=sys.stderr)
    try:
      metrics = slim.evaluation.evaluate_once(
          values.master, checkpoint_path, logdir=values.eval_dir,
          num_evals=values.max_num_batches,
          eval_op=list(graph.names_to_updates.values()),
          final_op=graph.names_to_values,
          variables_to_restore=graph.variables_to_restore,
          session_config=compute.session_config(
              compute_flags.compute_spec(values),
              tf1.ConfigProto(allow_soft_placement=True)),
          hooks=[h for h in (graph.recompute_hook,
                             _TallyHook(graph.report_fetches, tally)) if h],
          progress_fn=lambda done, total: bar.update(1))
    except tf.errors.DataLossError as e:
      inputs.fail_unreadable(e, graph.provider.data_files)
    except tf.errors.InvalidArgumentError as e:
      inputs.fail_undecodable(e, graph.bad_records)
    finally:
      bar.close()
  result = {name: float(value) for name, value in metrics.items()}
  result['global_step'] = checkpoint_global_step(checkpoint_path)
  result['checkpoint'] = checkpoint_path
  if graph.bad_records.keys:
    result['skipped_records'] = len(graph.bad_records.keys)
    print(f'Evaluation {graph.bad_records.summary()}.', file=sys.stderr,
          flush=True)
  if graph.recompute_hook is not None:
    result['batch_norm_statistics'] = {
        'recomputed_batches': values.recompute_batch_norm_statistics,
        'split': values.batch_norm_split_name,
        'checkpoint': graph.recompute_hook.saved_path}
  return Evaluation(result, tally, graph.class_names)


def report(result, eval_dir):
  """Prints `Name: value` lines and writes metrics.json atomically."""
  for name in ('Accuracy', 'Recall_5'):
    print(f'{name}: {result[name]:.4f}', flush=True)
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
  if not os.path.isdir(values.checkpoint_path):
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
