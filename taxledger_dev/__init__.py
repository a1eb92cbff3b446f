"""taxledger's developer tools, kept out of the runtime library: the benchmarks behind the
README's figures and the build of the contract artifacts the library ships.

Installed with the package; what they need beyond the runtime (py-solc-x) comes with the
``dev`` extra. Their commands (``taxledger bench``, ``taxledger contracts``) join the command
line through the ``taxledger.commands`` entry points.
"""
