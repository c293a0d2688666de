module lethe

go 1.26.8
