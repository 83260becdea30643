"""Uploads through TransloadIt: signed assembly params, notification verification, assembly-result parsing,
the upload state transitions of a video, and the missed-notification safety check.

Modules: `config` (timing knobs), `signing`, `template` (assembly instructions + params), `notification`
(verify/parse the notify POST), `outcome` (assembly status -> what happened), `transitions` (video state rules),
`api` (TransloadIt HTTP API client), `service` (what the entry points call), `status` (batched status + ETag).
"""
