"""Transcripts in bulk: export (JSON, CSV), import from helpdesk exports, purge (retention).

`flask --app server transcripts export|import|purge` (cli.py); docs/transcripts.md."""
