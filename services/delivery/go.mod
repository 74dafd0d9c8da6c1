module github.com/samnav/samnav/services/delivery

go 1.26.8

require (
	github.com/samnav/samnav/contracts v0.0.0
	github.com/samnav/samnav/pkg v0.0.0
)

replace (
	github.com/samnav/samnav/contracts => ../../contracts
	github.com/samnav/samnav/pkg => ../../pkg
	github.com/samnav/samnav/services/masterdata => ../masterdata
	github.com/samnav/samnav/services/registry => ../registry
)
