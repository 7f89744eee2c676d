"""Pure domain logic of wildflag: what a listing offers, whose case it is, and whether it is known.

Nothing in this package performs I/O beyond reading its own data files, and nothing here
imports the database or the web service: it can be used from a notebook or a batch job as
it is. The service in `extension_backend` only wires it to HTTP and storage.
"""
