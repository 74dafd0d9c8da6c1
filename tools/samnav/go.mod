module github.com/samnav/samnav/tools/samnav

go 1.26.8

require (
	github.com/samnav/samnav/contracts v0.0.0
	github.com/samnav/samnav/pkg v0.0.0
	github.com/samnav/samnav/services/masterdata v0.0.0
	github.com/samnav/samnav/services/registry v0.0.0
)

require (
	github.com/samnav/samnav/services/console v0.0.0
	github.com/samnav/samnav/services/delivery v0.0.0
	github.com/standard-webhooks/standard-webhooks/libraries v0.0.1 // indirect
	golang.org/x/sync v0.25.0 // indirect
)

replace github.com/samnav/samnav/pkg => ../../pkg

replace github.com/samnav/samnav/contracts => ../../contracts

replace github.com/samnav/samnav/services/masterdata => ../../services/masterdata

replace github.com/samnav/samnav/services/registry => ../../services/registry

replace github.com/samnav/samnav/services/delivery => ../../services/delivery

replace github.com/samnav/samnav/services/console => ../../services/console
