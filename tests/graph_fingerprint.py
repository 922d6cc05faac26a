"""Fingerprints of built graphs: what a graph is, independent of the process.

A fingerprint is the SHA-256 of a text listing every node of a GraphDef
(name, op, inputs, device and every attribute in protobuf text form) and
every function of its library (signature, nodes, returns), sorted. Names
that TensorFlow numbers per process are made canonical first, so the same
code builds the same fingerprint whatever was built before it in the
process: function names' numeric suffixes (`__inference_Dataset_map_decode_117`,
`cond_jpeg_false_1161`) become their rank among functions of the same stem
in this graph, tf.data's hash-named `_make_dataset_<hash>` become one name,
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
  """{function name: its process-independent name} for the library."""
  stems = collections.defaultdict(list)
  for function in graph_def.library.function:
    name = function.signature.name
    numbered = re.fullmatch(r'(.*?)_(\d+)', name)
    hashed = re.fullmatch(r'(_make_dataset)_[A-Za-z0-9_-]+', name)
    if numbered:
      stems[numbered.group(1)].append((int(numbered.group(2)), name))
    elif hashed:
      stems[hashed.group(1)].append((None, name))
  canonical = {}
  for stem, members in stems.items():
    numbered = sorted(m for m in members if m[0] is not None)
    for rank, (_, name) in enumerate(numbered):
      canonical[name] = f'{stem}#{rank}'
    for number, name in members:
      if number is None:  # hash-named: no creation order to keep
        canonical[name] = f'{stem}#h'
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
