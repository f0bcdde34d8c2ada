module allora.local/glue

go 1.24
