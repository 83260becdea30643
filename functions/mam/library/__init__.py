"""The library: list and show videos, delete them (B2 objects -> index entry -> record), reset, search, and
discover videos put straight into the bucket's videos prefix (B2 event notifications and a listing sync).

Modules: `views` (the Video JSON of api/openapi.yaml, with playback/thumbnail URLs), `listing`, `deletion`,
`search`, `discover`, `signature` (B2 event-notification HMAC), `api` (the HTTP handlers `functions/library`
routes to). Import-light: storage, Firestore and Twelve Labs clients load on first use.
"""
