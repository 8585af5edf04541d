"""The bodies of the `baton` commands, one module each.

``chat_adapters.__main__`` declares the options and imports a module from here only
inside the command that runs, so a command pays only for the libraries it uses.
"""
