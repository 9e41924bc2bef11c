"""Push notifications: warnings sent to phones and chat apps through apprise. No Qt.

``notify.urls``     a channel URL as text: shown masked (``mask_url``: ``tgram://…/…``), its
                    secret parts listed for redaction
``notify.services`` apprise's side: ``check_url`` (-> one-line ``ChannelURLError``), the
                    service built from a URL
``notify.channel``  ``Channel`` (URL + ``ChannelPrefs``: enabled, minimum severity,
                    ``QuietHours``, send resolved)
``notify.message``  ``Notice`` (a warning change, as the channels need it) -> ``PushMessage``
``notify.policy``   ``PushPolicy``: once per severity, quiet hours, reminders (pure)
``notify.sender``   ``PushSender``: the policy and apprise on threads of their own, timeouts,
                    backoff, ``ChannelHealth`` for the connectivity warning, "Send test"
``notify.store``    ``ChannelStore``: preferences in the settings table, URLs in the secret store
``notify.applog``   apprise's log lines kept out of ours, read back redacted
``notify.sound``    the warning sounds and the platform's player

A channel URL is a secret as a whole: it lives in the secret store, and only its masked form
is stored, logged or shown.
"""
