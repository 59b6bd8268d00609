## bench/local.mk -- (placeholder)
