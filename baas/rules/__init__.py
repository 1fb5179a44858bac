"""The filter and rule language (PocketBase's grammar), compiled to SQL with bound parameters.

Knows nothing of HTTP: the request is plain data in `RequestInfo`.
"""
