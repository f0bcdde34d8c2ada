module allora.local/go-inference

go 1.24

require allora.local/glue v0.0.0

replace allora.local/glue => ../go-allora
