"""The ytscale harness: everything that measures the ``reference`` pipeline — the fake YouTube,
the seed, ``serve``, the report's steps, the capacity model, the P0 report's "before"/"after"
variants and the measuring instruments, behind the ``ytscale`` command."""
