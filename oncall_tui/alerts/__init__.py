"""Alert intake from Prometheus Alertmanager: alerts become incidents, acknowledgements silences.

`parse` reads Alertmanager's API v2 payloads into frozen `Alert`s, `mapping` turns an alert into the
incident it asks for, `reconcile` brings the desk in line with one poll, `client` talks HTTP,
`poller` keeps the source's health and back-off, `intake` runs one whole poll. Nothing here imports
Textual; the UI drives it from `oncall_tui.ui.widgets.alert_source`.
"""
