"""The recording hop: one process per replica between daprd and a user's own app, recording what passes.

It imports only itself and target_app's ledger modules (``contract``, ``recorder``, ``operations``): never
``harness`` nor ``toolchain`` (import-linter checks it). See ``hop/main.py`` for how to run it.
"""
