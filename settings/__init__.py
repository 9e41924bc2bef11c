"""The user's settings: declared once (``settings.registry``), stored once (the database's
settings table, through ``settings.store.SettingsStore``). Pure: it imports only ``alerts``
(for the thresholds' defaults); the monitor and the window both read it."""
