"""The Ray Data path of `mmsearch index --ray`: plan on the driver, load in CPU tasks, embed in an actor pool,
write Parquet shards, merge them into the catalog on the driver (see docs/scaling.md).

Nothing here is imported until a run asks for Ray; `ray` itself is the optional `mmsearch[ray]` extra.
"""
