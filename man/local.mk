## man/local.mk -- (placeholder)
