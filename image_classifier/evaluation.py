"""Evaluation of a checkpoint on a split: the graph and the run of
eval_image_classifier.py, on typed records.

`build_eval_graph` builds the network on the split (model_on_split), the
streaming metrics of `validation.classification_metrics`, the batch tensors
an eval_report.Tally takes and, with recompute_batch_norm_statistics, the
batch-norm recompute; `evaluate_with_report` restores a checkpoint into it,
runs it over the split (slim.evaluation.evaluate_once) and returns the
metrics with the report's tally.

On a multi-label dataset there are no streaming metrics: every batch's
sigmoid probabilities and multi-hot targets go into a
multi_label_metrics.MultiLabelTally, in the same session.run as the input
(the way the report's Tally is fed), and the figures (mAP, F1, precision
and recall at EvalSpec.threshold) are computed from it at the end, then
written as the `eval/<figure>` summaries.
"""
import collections
import dataclasses
import math
import os
import sys
from typing import Optional

import tensorflow as tf
import tqdm

import slim
from image_classifier import batch_norm
from image_classifier import cli
from image_classifier import compute
from image_classifier import eval_report
from image_classifier import inputs
from image_classifier import model_on_split
from image_classifier import multi_label_metrics
from image_classifier import network
from image_classifier import restore
from image_classifier import validation

tf1 = tf.compat.v1

RECOMPUTED_DIRNAME = 'batch_norm_recomputed'


@dataclasses.dataclass(frozen=True)
class EvalSpec:
  """What only evaluation decides.

  Attributes:
    eval_dir: where summaries (and the recomputed checkpoint) go.
    master: the address of the TensorFlow master ('' in process).
    max_num_batches: evaluate at most this many batches; None: the split.
    report_misclassified: list the N most confident mistakes; 0: none.
    recompute_batch_norm_statistics: first re-estimate the batch-norm
      statistics on this many batches; 0: the checkpoint's.
    batch_norm_split_name: the split those batches come from.
    progress_bar: show a bar over batches on a terminal.
    threshold: on a multi-label dataset, a class is predicted where its
      probability is above it (precision, recall, F1).
  """
  eval_dir: str
  master: str = ''
  max_num_batches: Optional[int] = None
  report_misclassified: int = 0
  recompute_batch_norm_statistics: int = 0
  batch_norm_split_name: str = 'train'
  progress_bar: bool = True
  threshold: float = multi_label_metrics.DEFAULT_THRESHOLD


EvalGraph = collections.namedtuple(
    'EvalGraph',
    ['names_to_values', 'names_to_updates', 'variables_to_restore',
     'provider', 'num_batches', 'report_fetches', 'class_names',
     'recompute_hook', 'bad_records', 'multi_label'],
    defaults=(None, None, False))
EvalGraph.__doc__ = """The metric values and update ops, the variables to
restore, the provider, num_batches (the number of batches the bar shows),
report_fetches (the batch tensors an eval_report.Tally takes: labels,
predictions and, with report_misclassified, confidences and record keys;
on a multi-label dataset those a MultiLabelTally takes, and no metrics),
the class names, the batch_norm.RecomputeHook (or None), the
inputs.BadRecords of the input and whether the dataset is multi-label."""

Evaluation = collections.namedtuple('Evaluation',
                                    ['metrics', 'tally', 'class_names'])


def checkpoint_global_step(checkpoint_path):
  """The global step stored in a checkpoint (0 if it has none)."""
  reader = slim.variables.checkpoint_reader(checkpoint_path)
  if reader.has_tensor('global_step'):
    return int(reader.get_tensor('global_step'))
  return 0


def _report_fetches(on_split, predictions, report_misclassified):
  """The batch tensors an eval_report.Tally takes."""
  report_fetches = {'labels': on_split.labels, 'predictions': predictions}
  if report_misclassified > 0:
    report_fetches['confidences'] = tf.reduce_max(
        tf.nn.softmax(tf.cast(on_split.logits, tf.float32)), axis=1)
    report_fetches['keys'] = on_split.keys
  return report_fetches


def _metrics(on_split, eval_spec, multi_label):
  """(names_to_values, names_to_updates, report_fetches) of the split: the
  streaming metrics and the report's batch tensors; on a multi-label split
  no streaming metrics, and the batch tensors of a MultiLabelTally."""
  if multi_label:
    if not 0 <= eval_spec.threshold <= 1:
      cli.fail('--threshold must be between 0 and 1 (a probability); '
               f'received {eval_spec.threshold}.')
    if eval_spec.report_misclassified:
      tf1.logging.warning('--report_misclassified lists the mistakes of '
                          'single-label data; ignored on a multi-label '
                          'dataset.')
    return {}, {}, validation.multi_label_fetches(on_split.logits,
                                                  on_split.labels)
  predictions = tf.argmax(on_split.logits, 1)
  names_to_values, names_to_updates = validation.classification_metrics(
      on_split.logits, on_split.labels)
  for name, value in names_to_values.items():
    tf1.summary.scalar('eval/' + name, value)
  return names_to_values, names_to_updates, _report_fetches(
      on_split, predictions, eval_spec.report_misclassified)


def _recompute_hook(data, model, input_spec, eval_spec, on_split,
                    global_step):
  """The batch_norm.RecomputeHook of recompute_batch_norm_statistics (it
  saves the recomputed checkpoint under eval_dir), or None."""
  num_batches = eval_spec.recompute_batch_norm_statistics
  if not num_batches:
    return None
  if num_batches < 0:
    cli.fail('--recompute_batch_norm_statistics must be >= 0 (a number '
             f'of batches); received {num_batches}.')
  ops = batch_norm.build_recompute(
      data.with_split(eval_spec.batch_norm_split_name), model, input_spec,
      num_batches, on_split.image_size, on_split.num_classes)
  saver = tf1.train.Saver(
      {v.op.name: v for v in slim.get_model_variables() + [global_step]},
      max_to_keep=1)
  return batch_norm.RecomputeHook(
      ops, saver, os.path.join(eval_spec.eval_dir, RECOMPUTED_DIRNAME,
                               'model.ckpt'))


def build_eval_graph(data, model, input_spec, eval_spec):
  """Builds input, network and metrics in the current graph.

  Args:
    data: a specs.DataSpec (the split evaluated).
    model: a specs.ModelSpec.
    input_spec: a specs.InputSpec.
    eval_spec: an EvalSpec.

  Returns:
    An EvalGraph.
  """
  network.check_image_model(model.model_name,
                            'eval_image_classifier.py evaluates image models.')
  global_step = slim.get_or_create_global_step()
  on_split = model_on_split.build(
      data, model, input_spec, is_training=False,
      reading=model_on_split.Reading(with_keys=True))
  if model.quantize:
    restore.quantize_inference_graph(model.model_name)
  variables_to_restore = restore.variables_to_restore(
      model.moving_average_decay, global_step)
  multi_label = model_on_split.is_multi_label(on_split.dataset)
  names_to_values, names_to_updates, report_fetches = _metrics(
      on_split, eval_spec, multi_label)

  num_batches = math.ceil(on_split.dataset.num_samples
                          / input_spec.batch_size)
  if eval_spec.max_num_batches:
    num_batches = min(num_batches, eval_spec.max_num_batches)
  names = eval_report.class_names(on_split.dataset.labels_to_names,
                                  on_split.num_classes, data.labels_offset)
  recompute_hook = _recompute_hook(data, model, input_spec, eval_spec,
                                   on_split, global_step)
  return EvalGraph(names_to_values, names_to_updates, variables_to_restore,
                   on_split.provider, num_batches, report_fetches, names,
                   recompute_hook, on_split.bad_records, multi_label)


class _TallyHook(tf1.train.SessionRunHook):
  """Feeds every evaluated batch to an eval_report.Tally (or a
  MultiLabelTally).

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


def _check_checkpoint_fits(checkpoint_path, graph, model):
  """Fails with one line unless the checkpoint holds what the graph
  restores, naming the flags that must match it."""
  restore.check_checkpoint_fits(
      checkpoint_path, graph.variables_to_restore,
      f'--checkpoint_path={checkpoint_path}',
      restore.model_advice(model.model_name, model.moving_average_decay,
                           model.quantize))


def _run(graph, tally, checkpoint_path, compute_spec, eval_spec):
  """Runs the evaluation of the checkpoint; returns the metric values."""
  # disable=None: on a terminal only; in a log file or a pipe the bar's
  # carriage-return redraws would be lines of their own.
  bar = tqdm.tqdm(total=graph.num_batches, desc='eval', unit='batch',
                  disable=None if eval_spec.progress_bar else True,
                  file=sys.stderr)
  try:
    return slim.evaluation.evaluate_once(
        eval_spec.master, checkpoint_path, logdir=eval_spec.eval_dir,
        num_evals=eval_spec.max_num_batches,
        eval_op=list(graph.names_to_updates.values()),
        final_op=graph.names_to_values,
        variables_to_restore=graph.variables_to_restore,
        session_config=compute.session_config(
            compute_spec, tf1.ConfigProto(allow_soft_placement=True)),
        hooks=[h for h in (graph.recompute_hook,
                           _TallyHook(graph.report_fetches, tally)) if h],
        progress_fn=lambda done, total: bar.update(1))
  except tf.errors.DataLossError as e:
    inputs.fail_unreadable(e, graph.provider.data_files)
  except tf.errors.InvalidArgumentError as e:
    inputs.fail_undecodable(e, graph.bad_records)
  finally:
    bar.close()


def _multi_label_figures(tally, eval_spec, global_step):
  """The figures of a filled MultiLabelTally at eval_spec.threshold, also
  written as `eval/<figure>` summaries at `global_step` (the undefined
  ones, None, left out)."""
  figures = validation.multi_label_figures(tally, eval_spec.threshold)
  writer = tf1.summary.FileWriter(eval_spec.eval_dir)
  writer.add_summary(tf1.Summary(value=[
      tf1.Summary.Value(tag='eval/' + name, simple_value=value)
      for name, value in figures.items() if value is not None]),
                     global_step)
  writer.close()
  return dict(figures, threshold=float(eval_spec.threshold))


def _result(metrics, graph, checkpoint_path, eval_spec, tally):
  """The metrics.json content: the metric values (the tally's figures on
  multi-label data), global step, checkpoint, skipped records and
  recomputed batch-norm statistics."""
  result = {name: float(value) for name, value in metrics.items()}
  global_step = checkpoint_global_step(checkpoint_path)
  if graph.multi_label:
    result.update(_multi_label_figures(tally, eval_spec, global_step))
  result['global_step'] = global_step
  result['checkpoint'] = checkpoint_path
  if graph.bad_records.keys:
    result['skipped_records'] = len(graph.bad_records.keys)
    print(f'Evaluation {graph.bad_records.summary()}.', file=sys.stderr,
          flush=True)
  if graph.recompute_hook is not None:
    result['batch_norm_statistics'] = {
        'recomputed_batches': eval_spec.recompute_batch_norm_statistics,
        'split': eval_spec.batch_norm_split_name,
        'checkpoint': graph.recompute_hook.saved_path}
  return result


def evaluate_with_report(data, model, input_spec, compute_spec, eval_spec,
                         checkpoint_path):
  """Evaluates one checkpoint and tallies the report of its examples.

  Args:
    data, model, input_spec, eval_spec: as `build_eval_graph`.
    compute_spec: a specs.ComputeSpec (threads, XLA).
    checkpoint_path: the checkpoint prefix.

  Returns:
    An Evaluation: metrics ({metric: value} plus global_step and
    checkpoint, the metrics.json content), the filled eval_report.Tally
    (a multi_label_metrics.MultiLabelTally on multi-label data) and the
    class names.
  """
  with tf.Graph().as_default():
    graph = build_eval_graph(data, model, input_spec, eval_spec)
    if graph.multi_label:
      tally = multi_label_metrics.MultiLabelTally(len(graph.class_names),
                                                  eval_spec.threshold)
    else:
      tally = eval_report.Tally(len(graph.class_names),
                                top_n=eval_spec.report_misclassified)
    _check_checkpoint_fits(checkpoint_path, graph, model)
    metrics = _run(graph, tally, checkpoint_path, compute_spec, eval_spec)
    # In the graph: tf1's FileWriter of the multi-label summaries needs one.
    result = _result(metrics, graph, checkpoint_path, eval_spec, tally)
  return Evaluation(result, tally, graph.class_names)
