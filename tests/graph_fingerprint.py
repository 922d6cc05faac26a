"""Fingerprints of built graphs: what a graph is, independent of the process.

A fingerprint is the SHA-256 of a text listing every node of a GraphDef
(name, op, inputs, device and every attribute in protobuf text form) and
every function of its library (signature, nodes, returns), sorted. Names
that TensorFlow numbers per process are made canonical first, so the same
code builds the same fingerprint whatever was built before it in the
process: function names' numbers (`__inference_Dataset_map_decode_117`,
`cond_false_5902_grad_17`) become their rank among functions alike but for
their numbers, tf.data's hash-named `_make_dataset_<hash>` become one name,
and custom-gradient ids (`CustomGradient-423`) are dropped. Paths of the
test's temporary folders are replaced by placeholders.
"""
import collections
import hashlib
import re


def _node_lines(nodes):
  return sorted(
      repr((node.name, node.op, list(node.input), node.device,
            [(key, str(node.attr[key])) for key in sorted(node.attr)]))
      for node in nodes)


def _canonical_function_names(graph_def):
  """{function name: its process-independent name} for the library.

  TensorFlow numbers functions with a process-wide counter, at the end of
  the name or inside it (`cond_false_5902_grad_17`). Names alike but for
  their numbers form a group; within it, a function's rank by its numbers
  (creation order: the counter grows) is what stays the same from one
  process to the next. tf.data's `_make_dataset_<hash>` names have no
  order to keep: they become one name.
  """
  groups = collections.defaultdict(list)
  canonical = {}
  for function in graph_def.library.function:
    name = function.signature.name
    if re.fullmatch(r'_make_dataset_[A-Za-z0-9_-]+', name):
      canonical[name] = '_make_dataset#h'
      continue
    numbers = tuple(int(n) for n in re.findall(r'\d+', name))
    groups[re.sub(r'\d+', '#', name)].append((numbers, name))
  for stem, members in groups.items():
    for rank, (_, name) in enumerate(sorted(members)):
      canonical[name] = f'{stem}@{rank}'
  return canonical


def graph_text(graph_def, replacements=()):
  """The sorted, canonical text a fingerprint hashes.

  Args:
    graph_def: a GraphDef.
    replacements: (old, new) string pairs applied to the text (temporary
      paths -> placeholders).
  """
  canonical = _canonical_function_names(graph_def)
  if canonical:
    # Also inside longer names derived from a function's
    # (`map_while_cond_16___redundant_placeholder0`): a name ends where no
    # digit follows.
    pattern = re.compile(r'(?<![A-Za-z0-9_])(' + '|'.join(
        map(re.escape, sorted(canonical, key=len, reverse=True))) + r')(?!\d)')
    rename = lambda text: pattern.sub(lambda m: canonical[m.group(1)], text)
  else:
    rename = lambda text: text
  nodes = sorted(rename(line) for line in _node_lines(graph_def.node))
  functions = sorted(
      rename('\n'.join(
          ['FUNCTION ' + str(function.signature).replace('\n', ' ')]
          + ['  ' + line for line in _node_lines(function.node_def)]
          + ['  ret ' + repr(sorted(function.ret.items()))]))
      for function in graph_def.library.function)
  text = re.sub(r'CustomGradient-\d+', 'CustomGradient-N',
                '\n'.join(nodes + functions))
  for old, new in replacements:
    text = text.replace(old, new)
  return text


def fingerprint(graph_def, replacements=()):
  """{'sha256': ..., 'nodes': N, 'functions': M} of a GraphDef."""
  return {
      'sha256': hashlib.sha256(
          graph_text(graph_def, replacements).encode()).hexdigest(),
      'nodes': len(graph_def.node),
      'functions': len(graph_def.library.function),
  }
