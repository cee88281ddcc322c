"""Synthetic training data: requests people might write, the sketches that answer them
(docs/sketch.md), and controlled bad variants of good diagrams.

- styles.py: curated palettes, shapes, sizes and the style hints a request may carry;
- wording.py: how people write numbers, lists, openers, typos; steps.py: step lists;
- networks.py, blocks.py, flows.py: one kind each (structure + request phrasings);
- synth.py: whole examples, checked; degrade.py: bad variants for the CNN and ORPO.
"""
