"""Storage: the SQLite database (schema, migrations, retention, export) and the secret store.

- ``storage.paths``: ``resolve_data_dir(cli_value)``, ``ensure_data_dir``, ``database_path``,
  ``secrets_path``, ``move_aside(path)`` (rename a damaged file aside; never delete).
- ``storage.database``: ``Database`` (one repository per kind of record as its attributes:
  ``accounts``, ``snapshots``, ``candles``, ``warnings``, ``settings``, ``liquidations``,
  ``events``; see its module docstring) and ``open_database``.
- ``storage.connection``: the file and its connections (open and preflight, the writer behind
  a lock, a reader per thread, damage detection, integrity check, checkpoint).
- ``storage.accounts``, ``snapshots``, ``candles``, ``warnings``, ``settings``, ``liquidations``,
  ``events``: the repositories, each given the connections.
- ``storage.records``: the immutable records they take and return.
- ``storage.schema``: the ordered migrations; ``storage.retention``: prune policy;
  ``storage.blocks``: compressed snapshot blocks; ``storage.export``: CSV.
- ``storage.secrets.SecretStore``: credentials in the OS keychain or an encrypted file.
- ``storage.errors``: DatabaseUnreadable, DatabaseCorrupt, SchemaTooNew, WrongPassphrase, ...
- ``storage.sample``: synthetic reports for tests and benchmarks (not used by the app).

Nothing here touches the file system at import time.
"""
