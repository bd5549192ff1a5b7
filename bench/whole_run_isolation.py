"""Algorithms of the whole-run benchmark's PyTorch side (bench/whole_run_torch.py):
the isolation group, each a subclass of whole_run_torch.Algorithm written from
docs/algorithms/ and algorithms-next.md at our defaults."""

ALGORITHMS = {}
