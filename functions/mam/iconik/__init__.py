"""The B2 storage plugin for iconik: custom-action requests, the run state machine that
copies to / removes from LucidLink, and the per-asset verification that keeps every master safe.

Its settings and run tuning are `mam.settings.IconikSettings` (`settings.iconik`, `settings.iconik.tuning`).
Modules: `request` (custom-action validation), `jobs` (job statuses), `verify` (pure per-asset checks), `run` (the typed run record), `mam.store.iconik_runs` (Firestore
records: lease, commit, asset chunks), `machine` (the step protocol), `step` (one step's context), `phases/`
(submit, expand, wait, process, finish: one module each), `handler` (the two functions' routes on
`mam.http.Router`), `actions` (the six custom actions). The iconik API adapter (retries, a rate limit) is
`mam.clients.iconik`. Import-light: nothing heavy at import time.
"""
