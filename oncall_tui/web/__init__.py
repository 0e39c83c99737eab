"""`oncall-tui serve`: the desk (or the wall) in a browser, one desk process per tab.

`access` holds who may connect and how many at once (no web framework in it); `server` is the
web server, built on textual-serve, imported only by the `serve` command.
"""
