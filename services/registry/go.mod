module github.com/samnav/samnav/services/registry

go 1.26.8
