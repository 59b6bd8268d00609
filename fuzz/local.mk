## fuzz/local.mk -- (placeholder)
