module github.com/samnav/samnav/contracts

go 1.26.8

require (
	github.com/samnav/samnav/pkg v0.0.0
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace github.com/samnav/samnav/pkg => ../pkg
