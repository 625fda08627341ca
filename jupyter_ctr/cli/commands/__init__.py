"""The commands, one module per group (podman's ``cmd/podman/<group>``); each function takes
the engine's Door (service/door.py: the engine as this process's user may use it, the policy
asked first) and the parsed arguments, and returns the exit status.

The parser names a command's function as ``"module:function"``, and the entry point imports
only that module: a module may import at its top what its own commands use.
"""
