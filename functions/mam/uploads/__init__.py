"""Uploads through TransloadIt: signed assembly params, notification verification, assembly-result parsing,
the upload state transitions of a video, the batched status, and the missed-notification safety check.

Modules: `template` (assembly instructions + signed params), `signing` (sha384/legacy sha1 HMAC, constant time),
`notification` (read + authenticate the notify POST), `outcome` (Assembly Status -> completed/failed/running with
B2 keys and media facts), `states` (video state rules, idempotent), `status` + `coalesce` (one batched, coalesced Firestore read per status call, ETag),
`policy` (the safety check's schedule), `service` (what the entry points call). The TransloadIt HTTP API client
(status, signed search) is `mam.clients.transloadit`.

Their knobs (TransloadIt, the UPLOAD_* timing, STATUS_COALESCE) are `mam.settings.TransloaditSettings`, passed in
by the entry points as `settings.transloadit`.
"""
