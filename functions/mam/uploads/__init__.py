"""Uploads through TransloadIt: signed assembly params, notification verification, assembly-result parsing,
the upload state transitions of a video, the batched status, and the missed-notification safety check.

Modules: `template` (assembly instructions + signed params), `signing` (sha384/legacy sha1 HMAC, constant time),
`notification` (read + authenticate the notify POST), `outcome` (Assembly Status -> completed/failed/running with
B2 keys and media facts), `transitions` (video state rules, idempotent), `api` (TransloadIt HTTP API: status,
signed search), `status` + `coalesce` (one batched, coalesced Firestore read per status call, ETag),
`config` (timing knobs), `service` (what the entry points call).

Settings not (yet) in mam.settings, read from the environment by `config`/`status`:
UPLOAD_PARAMS_TTL_SECONDS (3600), UPLOAD_CHECK_FIRST_DELAY_SECONDS (900), UPLOAD_CHECK_MAX_DELAY_SECONDS (14400),
UPLOAD_START_GRACE_SECONDS (3600), UPLOAD_DEADLINE_SECONDS (86400), STATUS_COALESCE (1).
"""
