"""The usage store: one row per finished request, written off the request path.

`sink.UsageSink` is a Feed sink: it turns a record into a row tuple and hands it to a
bounded queue (full: dropped and counted); a thread writes batches. `store` opens SQLite
(WAL) or PostgreSQL and migrates the versioned schema forward (`schema`); `report`
aggregates rows for `/admin/usage`.
"""
